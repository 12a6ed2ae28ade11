"""`agree trace ...`: reading, rendering, converting, replaying and shrinking trace files."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

from agree.protocols import registry
from agree.spec import Property, Spec
from agree.traces.trace import Resolver, Trace, TraceError, load_trace, save_trace

__all__ = ["CHART_FORMATS", "register"]

#: `--spec` on the commands that read a trace: the help text.
SPEC_HELP = ("the spec file (FILE.py[:Class]) of a trace written from a user's spec; a "
             "registered spec is found by the name the trace records")

#: `agree trace chart --format NAME`: the module under agree.traces and its exporter.
CHART_FORMATS = {"mermaid": ("mermaid", "chart_mermaid"),
                 "plantuml": ("plantuml", "chart_plantuml"), "svg": ("svg", "chart_svg")}


def register(sub: Any) -> None:
    p = sub.add_parser("trace", help="read, render and replay trace files",
                       description="Work with counterexample traces (JSON files written by "
                       "`agree check`, schema in traces/SCHEMA.md).")
    tsub = p.add_subparsers(dest="trace_command", metavar="ACTION",
                            parser_class=type(p))
    tsub.required = True

    show = tsub.add_parser("show", help="render a trace as text",
                           description="Replay FILE through its spec (refusing a file that "
                           "does not replay) and print it: why the property fails (its "
                           "witness, naming the key steps) when the property says, the "
                           "initial state, then per step the action and only what changed; "
                           "then which invariants hold in each state, and a message sequence "
                           "chart.")
    show.add_argument("file", metavar="FILE")
    show.add_argument("--spec", metavar="FILE.py", help=SPEC_HELP)
    show.add_argument("--full", action="store_true", help="print every state in full")
    show.add_argument("--no-table", action="store_true", help="leave out the invariant table")
    show.add_argument("--no-chart", action="store_true", help="leave out the sequence chart")
    show.add_argument("--chart", action="store_true", help="print only the sequence chart")
    show.set_defaults(handler=run_show)

    h = tsub.add_parser("html", help="write a self-contained HTML viewer of a trace",
                        description="One HTML file, no network access: sequence diagram, "
                        "steps to move through, node states with changes highlighted; the "
                        "key steps of the property's witness highlighted, and a view with "
                        "the key steps only.")
    h.add_argument("file", metavar="FILE")
    h.add_argument("--spec", metavar="FILE.py", help=SPEC_HELP)
    h.add_argument("-o", "--output", metavar="OUT", required=True, help="the .html to write")
    h.set_defaults(handler=run_html)

    c = tsub.add_parser("chart", help="write the sequence diagram as Mermaid, PlantUML or SVG",
                        description="The trace's sequence diagram in a form to paste: Mermaid "
                        "(renders in GitHub, GitLab and MkDocs Markdown), PlantUML, or one "
                        "standalone SVG file. A column per node, an arrow per send, delivery, "
                        "drop or duplicate, a note per step; the steps that matter are marked.")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--spec", metavar="FILE.py", help=SPEC_HELP)
    c.add_argument("--format", choices=sorted(CHART_FORMATS), default="mermaid",
                   help="mermaid (default), plantuml or svg")
    c.add_argument("-o", "--output", metavar="OUT", help="the file to write (default stdout)")
    c.add_argument("--plain", action="store_true",
                   help="leave out the witness summary and the key-step marks")
    c.set_defaults(handler=run_chart)

    d = tsub.add_parser("diff", help="compare two traces of one spec, state by state",
                        description="Where two traces of the same spec (or of a protocol and "
                        "its zoo variant) part: the common prefix, then per step both actions "
                        "and only what differs in the states, down to the element (which "
                        "server, which log index, which message). Exit 0: no difference; 1: "
                        "they differ; 2: unreadable files or traces of different specs.")
    d.add_argument("a", metavar="A")
    d.add_argument("b", metavar="B")
    d.add_argument("--spec", metavar="FILE.py", help=SPEC_HELP)
    d.add_argument("--limit", type=int, metavar="N",
                   help="show at most N differing steps (default all)")
    d.set_defaults(handler=run_diff)

    e = tsub.add_parser("itf", help="export a trace to ITF (Apalache/Quint)",
                        description="Write FILE in the Informal Trace Format (ADR-015).")
    e.add_argument("file", metavar="FILE")
    e.add_argument("--spec", metavar="FILE.py", help=SPEC_HELP)
    e.add_argument("-o", "--output", metavar="OUT", help="the .itf.json to write (default "
                   "stdout)")
    e.set_defaults(handler=run_itf)

    i = tsub.add_parser("import-itf", help="read an ITF trace into an agree trace",
                        description="Rebuild a trace from an ITF file whose #meta.agree names "
                        "the spec and parameters, recovering each step through the spec.")
    i.add_argument("file", metavar="FILE")
    i.add_argument("-o", "--output", metavar="OUT", required=True, help="the trace to write")
    i.set_defaults(handler=run_import)

    r = tsub.add_parser("replay", help="replay a trace through the current spec",
                        description="Replay FILE step by step; report the first step that no "
                        "longer replays and why. Exit 0: it replays; 1: it does not; 2: the "
                        "file is unreadable.")
    r.add_argument("file", metavar="FILE")
    r.add_argument("--spec", metavar="FILE.py", help=SPEC_HELP)
    r.add_argument("--impl", action="store_true",
                   help="drive the implementation (impl/raft, impl/paxos) through the trace and "
                   "report the first step it does not take (exit 1 if there is one)")
    r.add_argument("--save-test", metavar="OUT.py",
                   help="with --impl: write a pytest regression test of the replay")
    r.set_defaults(handler=run_replay)

    m = tsub.add_parser("minimize", help="shrink a counterexample",
                        description="Remove steps that do not matter while the property still "
                        "fails, and search smaller configurations (fewer servers, values, "
                        "ballots) for the smallest that still fails. Reports what was removed.")
    m.add_argument("file", metavar="FILE")
    m.add_argument("--spec", metavar="FILE.py", help=SPEC_HELP)
    m.add_argument("-o", "--output", metavar="OUT", help="where to write the smaller trace")
    m.add_argument("--no-config", action="store_true", help="only remove steps")
    m.add_argument("--max-states", type=int, default=200_000, metavar="N",
                   help="state budget per configuration tried (default 200,000)")
    m.set_defaults(handler=run_minimize)


def _resolver(args: argparse.Namespace) -> Resolver:
    """How a trace's spec is found: by its registered name, or with ``--spec FILE.py``
    from the user's file (a trace records only the spec's name)."""
    ref = getattr(args, "spec", None)
    return registry.resolve if ref is None else registry.file_resolver(ref)


def _load(path: str, resolve: Resolver) -> tuple[Trace, Spec[Any], list[Property]]:
    try:
        trace = load_trace(path, resolve)
    except TraceError as exc:
        raise TraceError(_hint(str(exc), resolve)) from None
    spec, props = resolve(trace.spec, trace.params)
    return trace, spec, list(dict.fromkeys((*spec.declared_properties(), *props)))


def _hint(msg: str, resolve: Resolver) -> str:
    """An unknown spec name may be a user's spec: say how to name its file."""
    if resolve is registry.resolve and ": unknown spec " in msg:
        return msg + "; a trace of a spec file: add --spec FILE.py"
    return msg


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text)
    except OSError as exc:
        raise TraceError(f"cannot write {path}: {exc.strerror or exc}") from None


def run_show(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.traces.explain import explain
    from agree.traces.msc import render_chart
    from agree.traces.text import render_text, render_truth_table

    trace, spec, props = _load(args.file, _resolver(args))
    if args.chart:
        print(render_chart(spec, trace), end="")
        return 0
    parts = [render_text(spec, trace, full=args.full, explanation=explain(spec, trace, props))]
    if not args.no_table:
        parts.append(render_truth_table(spec, trace, props))
    if not args.no_chart:
        parts.append(render_chart(spec, trace))
    print("\n".join(parts), end="")
    return 0


def run_html(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.traces.html import render_html

    trace, spec, props = _load(args.file, _resolver(args))
    _write(args.output, render_html(spec, trace, props))
    print(f"wrote {args.output}")
    return 0


def run_chart(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.traces.chart import chart_of
    from agree.traces.explain import explain

    trace, spec, props = _load(args.file, _resolver(args))
    module, exporter = CHART_FORMATS[args.format]
    explanation = None if args.plain else explain(spec, trace, props)
    text = getattr(importlib.import_module(f"agree.traces.{module}"), exporter)(
        chart_of(spec, trace, explanation))
    if args.output:
        _write(args.output, text)
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0


def _family(name: str) -> str:
    """The protocol a spec name belongs to (a zoo variant's is its protocol's)."""
    entry = registry.find(name)
    return entry.protocol.name if entry is not None else name


def _about(path: str, trace: Trace) -> str:
    what = f", {trace.property} ({trace.kind}) violated" if trace.property else ""
    return f"{path} ({trace.spec}, {len(trace)} step{'s' if len(trace) != 1 else ''}{what})"


def run_diff(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.traces.diff import diff_traces, render_diff

    if args.limit is not None and args.limit <= 0:
        raise TraceError("--limit must be positive")
    a, spec_a, _ = _load(args.a, _resolver(args))
    b, spec_b, _ = _load(args.b, _resolver(args))
    if _family(a.spec) != _family(b.spec):
        raise TraceError(f"{args.a} is a trace of {a.spec}, {args.b} of {b.spec}: trace diff "
                         "compares two traces of one spec (or of a protocol and its zoo)")
    lines = [f"A: {_about(args.a, a)}", f"B: {_about(args.b, b)}"]
    differ = [f"{k}: A {a.params.get(k, '-')} | B {b.params.get(k, '-')}"
              for k in dict.fromkeys([*a.params, *b.params]) if a.params.get(k) != b.params.get(k)]
    if differ:
        lines.append("parameters differ: " + ", ".join(differ))
    diff = diff_traces(spec_a, a, spec_b, b)
    print("\n".join(lines) + "\n" + render_diff(diff, args.limit), end="")
    return 0 if diff.identical else 1


def run_itf(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.traces.itf import to_itf

    trace, _, _ = _load(args.file, _resolver(args))
    text = json.dumps(to_itf(trace), indent=1) + "\n"
    if args.output:
        _write(args.output, text)
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0


def run_import(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.traces.itf import load_itf

    trace = load_itf(args.file, registry.resolve)
    try:
        save_trace(trace, args.output)
    except OSError as exc:
        raise TraceError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {args.output} ({len(trace)} steps of {trace.spec})")
    return 0


def run_replay(args: argparse.Namespace, extra: list[str]) -> int:
    if args.impl or args.save_test:
        from agree.cli.replay import run_replay_impl

        return run_replay_impl(args)
    resolve = _resolver(args)
    try:
        trace = load_trace(args.file, resolve)
    except TraceError as exc:
        msg = _hint(str(exc), resolve)
        if not msg.startswith(("step ", "the trace's initial state")):
            raise  # unreadable or malformed: exit 2
        print(f"{args.file} does not replay: {msg}")
        return 1
    loop = f", a lasso looping back to state {trace.loop}" if trace.loop is not None else ""
    print(f"{args.file} replays: {len(trace)} steps of {trace.spec}{loop}")
    return 0


def run_minimize(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.checker.minimize import minimize_config, minimize_steps

    trace, spec, props = _load(args.file, _resolver(args))
    shrunk = minimize_steps(spec, trace, props)
    best = shrunk.trace
    print(f"{trace.spec}: {trace.property} fails in {len(trace)} steps")
    if shrunk.removed:
        print(f"removed {len(shrunk.removed)} steps that do not matter "
              f"({shrunk.tried} candidates tried):")
        print("\n".join(f"  - {label}" for label in shrunk.removed))
    else:
        print(f"no step can be removed ({shrunk.tried} candidates tried)")
    if not args.no_config:
        if args.max_states <= 0:
            raise TraceError("--max-states must be positive")
        search = minimize_config(best, _resolver(args), max_states=args.max_states)
        smaller = search.best
        cut = (f", {search.inconclusive} cut short by --max-states {args.max_states:,}"
               if search.inconclusive else "")
        if smaller is None:
            print(f"no smaller configuration fails ({search.tried} tried{cut})")
        else:
            print(f"smaller configuration still fails ({search.tried} tried{cut}): "
                  + ", ".join(smaller.removed))
            best = smaller.trace
    params = " ".join(f"{k}={v}" for k, v in best.params.items())
    print(f"result: {len(best)} steps ({params})")
    if args.output:
        try:
            save_trace(best, args.output)
        except OSError as exc:
            raise TraceError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {args.output}")
    return 0
