"""`agree check` glue for what needs the explicit state graph: liveness and ``--graph``.

Kept apart from ``cmd_check`` so that plain safety checks never import networkx.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from agree.checker.explore import select_properties
from agree.checker.graph import DEFAULT_LIMIT, StateGraph, build_graph, write_graph
from agree.checker.liveness import LIVENESS_KINDS, check_liveness, report_liveness
from agree.cli.trace_files import write_traces
from agree.spec import Property, Spec, SpecError
from agree.traces.trace import Trace, to_json

__all__ = ["build", "run", "split", "write"]


def split(props: Sequence[Property], only: Sequence[str] | None,
          ) -> tuple[list[Property], list[Property], list[str] | None]:
    """(liveness properties, safety properties, names of the safety ones selected)."""
    chosen = select_properties(props, only)
    live = [p for p in chosen if p.kind in LIVENESS_KINDS]
    safe = [p for p in props if p.kind not in LIVENESS_KINDS]
    safe_only = None if not only else [p.name for p in chosen if p.kind not in LIVENESS_KINDS]
    return live, safe if (safe_only is None or safe_only) else [], safe_only


def _limit(args: argparse.Namespace) -> int:
    limit = getattr(args, "graph_limit", None)
    if limit is not None and limit <= 0:
        raise SpecError("--graph-limit must be positive")
    return limit or DEFAULT_LIMIT


def run(spec: Spec[Any], live: Sequence[Property], args: argparse.Namespace,
        after_safety: bool = False) -> tuple[int, dict[str, Any]]:
    """Check the liveness properties on the state graph, write the lassos, and print the
    report (text; or JSON unless ``after_safety``, when the caller embeds the returned
    document in its own). Returns the exit code and the JSON document."""
    sg = build_graph(spec, _limit(args), what="liveness")
    result = check_liveness(spec, live, symmetry=bool(getattr(args, "symmetry", False)),
                            graph=sg)
    written = write_traces(spec.name, [(v.property, v.trace) for v in result.violations],
                           args.trace_out, first_takes_name=not after_safety)
    doc = {
        "spec": result.spec, "params": result.params, "verdict": result.verdict,
        "properties": result.properties, "fairness": result.fairness,
        "distinct": result.distinct, "edges": result.edges,
        "seconds": round(result.seconds, 3), "trace_files": written,
        "violations": [{"property": v.property, "kind": v.kind, "message": v.message,
                        "trace": to_json(v.trace)} for v in result.violations]}
    if args.json:
        if not after_safety:
            print(json.dumps(doc, indent=1))
    else:
        print(report_liveness(spec, result))
        for w in written:
            print(f"trace written to {w}")
    if args.graph:
        write(sg, args.graph, [v.trace for v in result.violations], quiet=args.json)
    return result.exit_code, doc


def build(spec: Spec[Any], args: argparse.Namespace) -> StateGraph:
    """The graph for ``--graph``, built before the check so an oversize model fails fast."""
    return build_graph(spec, _limit(args))


def write(sg: StateGraph, out: str, traces: Sequence[Trace], quiet: bool = False) -> None:
    path: list[int] = []
    labels: list[str] = []
    if traces:
        t = traces[0]
        states = [s for s in t.states if s in sg.index]
        if len(states) == len(t.states):  # a violating state outside the graph is not drawn
            path = [sg.index[s] for s in states]
            labels = [s.label for s in t.steps]
    write_graph(sg, out, path, labels)
    print(f"state graph ({len(sg):,} states, {sg.graph.number_of_edges():,} edges) "
          f"written to {out}", file=sys.stderr if quiet else sys.stdout)
