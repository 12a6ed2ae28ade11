"""`agree check`'s reports of what needs the explicit state graph: liveness and ``--graph``.

Kept apart from cli/check.py's safety report; networkx is imported only to write a graph
(agree.checker.run.check_all builds it only when asked), so plain safety checks never
import it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agree.cli.trace_files import write_traces
from agree.spec import Spec
from agree.traces.text import render_text
from agree.traces.trace import Trace, to_json

if TYPE_CHECKING:
    from agree.checker.graph import StateGraph
    from agree.checker.liveness import LivenessResult

__all__ = ["report", "report_liveness", "write"]


def report(spec: Spec[Any], result: LivenessResult, sg: StateGraph, args: argparse.Namespace,
           after_safety: bool = False) -> tuple[int, dict[str, Any]]:
    """Write the lassos and print the report of a liveness check (text; or JSON unless
    ``after_safety``, when the caller embeds the returned document in its own), then write
    ``--graph``. Returns the exit code and the JSON document."""
    written = write_traces(spec.name, [(v.property, v.trace) for v in result.violations],
                           args.trace_out, first_takes_name=not after_safety)
    doc = {
        "spec": result.spec, "params": result.params, "verdict": result.verdict,
        "properties": result.properties, "fairness": result.fairness,
        "strong_fairness": result.strong_fairness,
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


def report_liveness(spec: Spec[Any], r: LivenessResult) -> str:
    """The human report of a liveness check, with each lasso rendered as text."""
    params = " ".join(f"{k}={v}" for k, v in r.params.items())
    fair = ", ".join(r.fairness) or "none (stuttering forever is allowed)"
    out = [f"liveness on the state graph of {r.spec} ({params})",
           f"properties: {', '.join(r.properties)}", f"weak fairness: {fair}"]
    if r.strong_fairness:
        out.append(f"strong fairness: {', '.join(r.strong_fairness)}")
    out.append("")
    if not r.violations:
        out.append("All liveness properties hold under the declared fairness.")
    for v in r.violations:
        cycle = len(v.trace) - (v.trace.loop or 0)
        shape = (f"a lasso of {len(v.trace)} steps, looping from state {v.trace.loop}"
                 if cycle else f"{len(v.trace)} steps, then stuttering forever")
        out.append(f"VIOLATED: {v.property} ({v.kind}): {shape}")
    out += ["", f"distinct states   {r.distinct:,}", f"edges             {r.edges:,}",
            f"time              {r.seconds:.2f} s"]
    for v in r.violations:
        out += ["", "-" * 72, render_text(spec, v.trace).rstrip()]
    return "\n".join(out)


def write(sg: StateGraph, out: str, traces: Sequence[Trace], quiet: bool = False) -> None:
    """Write the state graph to ``out`` (.graphml or .dot), the first trace's path marked
    when all of its states are in the graph, and say so."""
    from agree.checker.graph import write_graph

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
