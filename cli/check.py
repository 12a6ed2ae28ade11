"""`agree list` and `agree check`: the specs we know, and exhaustive checking."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from agree.checker.result import CheckResult, Progress
from agree.checker.run import check_all
from agree.cli import liveness as liveness_cli
from agree.cli.common import ArgumentParser, require_positive
from agree.cli.trace_files import write_traces
from agree.protocols import registry
from agree.spec import Property, Spec, SpecError
from agree.traces.explain import explain
from agree.traces.text import render_text

__all__ = ["instantiate", "load_spec", "parse_spec_params", "register", "report_text"]


def register(sub: Any) -> None:
    p = sub.add_parser("list", help="list the specs, their parameters and properties",
                       description="List every spec agree knows (protocols, the article's "
                       "Paxos, the bug zoo) with parameters and properties.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_list)

    p = sub.add_parser(
        "check", help="explore every reachable state and check the properties",
        description="Breadth-first exploration of every reachable state of SPEC with TLC's "
        "semantics. Spec parameters are flags: `agree check paxos --max-ballot 2`; "
        "`agree check SPEC --help` lists them. SPEC may also be a file: "
        "`agree check my_protocol.py[:Class]`. Exit 0: all hold; 1: a property is violated "
        "(a shortest trace is printed and written); 2: bad input; 3: a budget ran out.",
        add_help=False)
    p.add_argument("spec", metavar="SPEC", help="a spec name from `agree list`, or FILE.py")
    p.add_argument("-h", "--help", action="store_true", help="show this help (with SPEC's "
                   "parameters) and exit")
    p.add_argument("--invariant", "--property", dest="only", action="append", metavar="NAME",
                   help="check only this property (repeatable)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--trace-out", metavar="FILE",
                   help="where to write the counterexample (default: SPEC.PROPERTY.trace.json)")
    p.add_argument("--continue", dest="keep_going", action="store_true",
                   help="keep exploring after a violation, collecting one per property")
    p.add_argument("--deadlock", action="store_true", help="report states with no enabled "
                   "action")
    p.add_argument("--max-states", type=int, metavar="N", help="stop after N distinct states")
    p.add_argument("--time-limit", type=float, metavar="SECONDS", help="stop after SECONDS")
    p.add_argument("--no-check-pruned", action="store_true",
                   help="do not check invariants on successors outside the state constraint "
                   "(TLC checks them; so do we by default)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--from", dest="start_from", metavar="TRACE.json[:K]",
                   help="search from the state reached after step K of a trace (default: its "
                   "last state) instead of Init; the trace's first K steps must replay on "
                   "SPEC, and a violation's trace is written as those steps + the suffix "
                   "found (checker/start_from.py)")
    p.add_argument("--graph", metavar="FILE", help="write the explored state graph (small "
                   "models) to FILE.graphml or FILE.dot, the violating path marked")
    p.add_argument("--graph-limit", type=int, metavar="N", default=None,
                   help="most states --graph and liveness checking build (default 50,000)")
    from agree.cli.scale import add_check_flags

    add_check_flags(p)  # --symmetry, --workers, --memory, --checkpoint, --resume
    p.set_defaults(handler=run_check, accepts_extra=True, check_parser=p)


# -- list -----------------------------------------------------------------------


def run_list(args: argparse.Namespace, extra: list[str]) -> int:
    rows: list[dict[str, Any]] = []
    for e in registry.entries():
        cls = e.spec_class()
        rows.append({
            "name": e.name, "group": e.group, "summary": e.summary,
            "parameters": {p.name: dict(e.defaults).get(p.name, p.default)
                           for p in cls.parameters()},
            "properties": [p.name for p in e.property_list()],
            "breaks": e.breaks or None, "source": e.source or None,
        })
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    titles = {"protocol": "Protocols", "article": "The article's Paxos",
              "zoo": "Bug zoo (each breaks one rule)"}
    group = None
    for r in rows:
        if r["group"] != group:
            group = r["group"]
            print(("" if r is rows[0] else "\n") + titles.get(str(group), str(group)))
        print(f"  {r['name']:<28} {r['summary']}")
        params = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in r["parameters"].items())
        print(f"  {'':<28} parameters: {params}")
        if r["breaks"]:
            print(f"  {'':<28} breaks: {r['breaks']}  (source: {r['source']})")
        else:
            print(f"  {'':<28} properties: {', '.join(r['properties'])}")
    return 0


# -- check ----------------------------------------------------------------------


def load_spec(name: str) -> tuple[type[Spec[Any]], tuple[Property, ...], dict[str, Any]]:
    """The spec class, its properties, and registry defaults for a name or a file."""
    return registry.load(name)


def instantiate(cls: type[Spec[Any]], params: dict[str, Any], name: str) -> Spec[Any]:
    """Build the spec; a constructor that rejects its parameters is bad input."""
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"spec {name}: bad parameters: {exc}") from None


def parse_spec_params(cls: type[Spec[Any]], extra: list[str], prog: str,
                      defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Parse ``--param value`` flags against the spec's parameters."""

    parser = ArgumentParser(prog=prog, add_help=False)
    for p in cls.parameters():
        default = (defaults or {}).get(p.name, p.default)
        if p.type is bool:
            parser.add_argument(p.flag, dest=p.name, type=_parse_bool, default=default,
                                metavar="true|false")
        else:
            parser.add_argument(p.flag, dest=p.name, type=int, default=default, metavar="N")
    ns, rest = parser.parse_known_args(extra)
    if rest:
        flags = ", ".join(p.flag for p in cls.parameters()) or "none"
        raise SpecError(f"spec {cls.name or cls.__name__}: unknown parameter {rest[0]!r} "
                        f"(parameters: {flags})")
    return registry.coerce_params(cls, vars(ns))


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "yes", "1", "on"):
        return True
    if low in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _spec_help(cls: type[Spec[Any]], props: tuple[Property, ...], defaults: dict[str, Any],
               ) -> str:
    lines = [f"{cls.name or cls.__name__}: {cls.description}", "", "parameters:"]
    for p in cls.parameters():
        d = defaults.get(p.name, p.default)
        lines.append(f"  {p.flag} {'N' if p.type is int else 'true|false':<10} {p.help} "
                     f"(default {d})")
    lines += ["", "properties:"]
    lines += [f"  {p.name:<22} {p.kind:<10} {p.doc}" for p in props]
    return "\n".join(lines)


def run_check(args: argparse.Namespace, extra: list[str]) -> int:
    cls, props, defaults = load_spec(args.spec)
    if args.help:
        args.check_parser.print_help()
        print()
        print(_spec_help(cls, props, defaults))
        return 0
    params = parse_spec_params(cls, extra, f"agree check {args.spec}", defaults)
    require_positive(args, "max_states", "time_limit")
    spec = instantiate(cls, params, args.spec)
    all_props = (*spec.declared_properties(), *props)
    from agree.cli.scale import memory_note, scale_options

    progress = None if args.quiet or args.json else _progress_printer()
    written: list[str] = []

    def show_safety(result: CheckResult) -> None:
        """Write the traces and, in text, print the report: before liveness is checked."""
        memory_note(args, result)
        written[:] = write_traces(result.spec,
                                  [(v.property, v.trace) for v in result.violations],
                                  args.trace_out)
        if not args.json:
            if result.start:
                print(result.start.describe())
            print(report_text(spec, result, written, all_props))
            if result.start and written:
                print(f"search found the last {', '.join(map(str, result.found_steps)) or 'no'}"
                      f" step(s) of the trace written; the first {result.start.step} are the "
                      "replayed prefix")

    out = check_all(spec, all_props, only=args.only, graph=bool(args.graph),
                    graph_limit=args.graph_limit, start=args.start_from, on_safety=show_safety,
                    stop_at_first=not args.keep_going, deadlock=args.deadlock,
                    max_states=args.max_states, time_limit=args.time_limit,
                    check_pruned=not args.no_check_pruned, progress=progress,
                    **scale_options(args))
    result = out.safety
    if result is None:  # liveness properties only
        assert out.liveness is not None and out.graph is not None
        return liveness_cli.report(spec, out.liveness, out.graph, args)[0]
    code = result.exit_code
    live_doc = None
    if out.liveness is not None:
        assert out.graph is not None
        live_code, live_doc = liveness_cli.report(spec, out.liveness, out.graph, args,
                                                  after_safety=True)
        code = max(code, live_code)
    if args.json:
        doc = result.to_json()
        doc["trace_files"] = written
        for v, vdoc in zip(result.violations, doc["violations"], strict=True):
            why = explain(spec, v.trace, all_props) if v.trace is not None else None
            if why:
                vdoc["witness"] = {"reason": why.reason, "summary": list(why.summary),
                                   "key_steps": list(why.key_steps)}
        if result.start:
            doc["start"] = {"file": result.start.file, "step": result.start.step,
                            "found_steps": result.found_steps}
        if live_doc is not None:
            doc["liveness"] = live_doc
        print(json.dumps(doc, indent=1))
    if out.graph is not None and out.liveness is None:
        liveness_cli.write(out.graph, args.graph,
                           [v.trace for v in result.violations if v.trace], quiet=args.json)
    return code


def _progress_printer() -> Any:
    def show(p: Progress) -> None:
        print(f"  ... {p.distinct:,} distinct states, {p.generated:,} generated, depth "
              f"{p.depth}, queue {p.queue:,}, {p.states_per_second:,.0f} states/s, "
              f"{p.seconds:.0f} s", file=sys.stderr, flush=True)
    return show


def report_text(spec: Spec[Any], r: CheckResult, written: list[str],
                properties: Sequence[Property] = ()) -> str:
    """The human report of a check: verdict, figures, coverage, then any trace (with the
    witness summary of its property, looked up in ``properties``)."""
    params = " ".join(f"{k}={v}" for k, v in r.params.items())
    out = [f"agree check {r.spec} ({params})",
           f"properties: {', '.join(r.properties) or 'none'}", ""]
    if r.verdict == "holds":
        out.append("All properties hold.")
    elif r.verdict == "incomplete":
        out.append(f"Incomplete: stopped by {r.stopped} before exploring every state; "
                   "no violation found so far.")
    else:
        for v in r.violations:
            if v.kind == "sometimes":
                out.append(f"VIOLATED: {v.property} (sometimes): {v.message}")
            elif v.kind == "deadlock":
                out.append(f"VIOLATED: deadlock reached in {len(v.trace or [])} steps")
            else:
                steps = len(v.trace) if v.trace is not None else 0
                kind = "action property" if v.kind == "action" else v.kind
                out.append(f"VIOLATED: {v.property} ({kind}), "
                           f"shortest trace: {steps} step{'s' if steps != 1 else ''}")
    stop = f" (stopped: {r.stopped})" if r.stopped else ""
    out += [
        "",
        f"distinct states   {r.distinct:,}",
        f"states generated  {r.generated:,}",
        f"depth             {r.depth}{stop}",
        f"time              {r.seconds:.2f} s",
        f"states/s          {r.states_per_second:,.0f}",
        *(["symmetry          on: distinct states are orbits"] if r.symmetry else []),
        f"fingerprint collision probability (optimistic): {r.collision_probability:.1e}",
        "",
        "coverage (action: generated / new distinct):",
    ]
    width = max((len(k) for k in r.coverage), default=0)
    for label, stats in r.coverage.items():
        never = "   <- never enabled" if stats.generated == 0 else ""
        out.append(f"  {label:<{width}}  {stats.generated:>10,} / {stats.distinct:>9,}{never}")
    for v in r.violations:
        if v.trace is None:
            continue
        why = explain(spec, v.trace, properties)
        out += ["", "-" * 72, render_text(spec, v.trace, explanation=why).rstrip()]
    if written:
        out += ["", *(f"trace written to {w}" for w in written)]
    return "\n".join(out)
