"""`agree prove` (inductive invariants with Z3) and `agree bmc` (bounded model checking).

Each asks the spec's bundle for its symbolic driver (symbolic/driver.py): which flags
apply, and the encoding to check; this module parses, runs and prints.

Exit codes: 0 proved / no violation up to the depth, 1 a counterexample,
2 bad input, 4 unknown (Z3 gave up or a timeout hit; never reported as proved).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from agree.cli import induct as induct_cli
from agree.cli.check import parse_spec_params
from agree.cli.common import UsageError, require_positive
from agree.protocols import registry
from agree.protocols.bundle import resolve_ref
from agree.spec import Property, Spec, SpecError
from agree.symbolic.bmc import BmcResult, bmc
from agree.symbolic.driver import SymbolicDriver, no_encoding
from agree.symbolic.prove import CTI, Obligation, ProofResult, prove
from agree.symbolic.z3base import Encoding
from agree.traces.explain import explain
from agree.traces.text import diff_views, render_text, render_view
from agree.traces.trace import to_json

__all__ = ["prove_and_report", "register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "prove", help="prove the inductive invariant with Z3 (unbounded ballots/terms)",
        description="Check with Z3, one (action, conjunct) pair at a time, that the spec's "
        "invariant holds initially, is preserved by every action, and implies the safety "
        "properties, for unbounded ballots and arbitrary values. A counterexample to "
        "induction is printed as explicit states and classified (is its pre-state "
        "reachable?). Exit 0 proved, 1 counterexample, 2 bad input, 4 unknown. "
        "SPEC may also be a file, FILE.py[:Class], declaring a state space and inductive "
        "conjuncts: its invariant is checked by trying states of the space, without Z3 "
        "(spec parameters are flags; exit 0 none found, 1 counterexample, 2 bad input).")
    p.add_argument("spec", metavar="SPEC", help="paxos, or a Paxos variant from `agree list`, "
                   "or FILE.py")
    p.add_argument("--acceptors", default=None, metavar="N|any",
                   help="Paxos: number of acceptors (quorums: majorities), or 'any' "
                   "(quorums: any sets that pairwise intersect); default 3")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="Z3 timeout per obligation in seconds (default 120)")
    p.add_argument("--action", action="append", metavar="LABEL",
                   help="check only the obligations of this action (repeatable)")
    p.add_argument("--first", action="store_true",
                   help="stop each action's checklist at its first counterexample")
    p.add_argument("--reach-budget", type=float, default=20.0, metavar="S",
                   help="seconds of explicit search to classify a counterexample (default 20)")
    p.add_argument("--servers", type=int, default=None, metavar="N",
                   help="Raft: number of servers (quorums: majorities); default 3")
    p.add_argument("--part", choices=("all", "election", "complete"), default=None,
                   help="Raft: the whole invariant (election safety and log matching), "
                   "only its election part, or (complete) leader completeness and state "
                   "machine safety over the history=True histories; default all")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    induct_cli.add_flags(p)
    p.set_defaults(handler=run_prove, accepts_extra=True)

    p = sub.add_parser(
        "bmc", help="symbolic bounded model checking with Z3",
        description="Unroll the spec's transition relation in Z3 from the initial states, up "
        "to --depth steps, looking for a safety violation; spec parameters are flags as for "
        "`agree check`. A violation is rebuilt as an ordinary trace through the explicit "
        "spec. Exit 0 none up to the depth, 1 violated, 2 bad input, 4 unknown.")
    p.add_argument("spec", metavar="SPEC", help="a spec name from `agree list`")
    p.add_argument("--depth", type=int, required=True, metavar="K", help="steps to unroll")
    p.add_argument("--timeout", type=float, default=600.0, metavar="S",
                   help="overall Z3 time budget in seconds (default 600)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--incremental", action="store_true",
                   help="ask each depth in turn (a shortest violation; often slower) rather "
                   "than one query of --depth steps of Next-or-stutter")
    p.add_argument("--from", dest="from_trace", metavar="TRACE.json[:K]",
                   help="Raft: search from the state after step K (default: the last) of a "
                   "trace that replays on SPEC itself; the trace reported is that prefix "
                   "plus the steps found")
    p.add_argument("--encoding", choices=("finite", "arrays"), default="finite",
                   help="Paxos: the finite quantifier-free encoding (default), or the array "
                   "encoding `agree prove` uses")
    p.set_defaults(handler=run_bmc, accepts_extra=True)


# -- prove ----------------------------------------------------------------------

def _protocol_flags() -> list[str]:
    """The `agree prove` options some protocol's driver takes (``prove_flags``); each
    applies to the protocols whose driver names it, and is an error for the others."""
    flags: list[str] = []
    for bundle in registry.protocols():
        driver = resolve_ref(bundle.symbolic)
        flags += [f for f in (driver.prove_flags if driver else ()) if f not in flags]
    return flags


def _driver(entry: registry.SpecEntry) -> SymbolicDriver:
    driver = entry.driver()
    if driver is None:
        raise no_encoding(entry.name)
    return driver  # type: ignore[no-any-return]


def _spec_factory(name: str, fixed: dict[str, Any] | None = None,
                  ) -> Callable[[dict[str, Any]], Spec[Any]]:
    def build(params: dict[str, Any]) -> Spec[Any]:
        return registry.build(name, {**params, **(fixed or {})})[0]
    return build


def run_prove(args: argparse.Namespace, extra: list[str]) -> int:
    if registry.is_file(args.spec):
        return induct_cli.run_induct(args, extra)
    if extra:
        raise UsageError(f"agree prove: unrecognized arguments: {' '.join(extra)}")
    own_file = [f"--{f.replace('_', '-')}" for f in induct_cli.FILE_FLAGS
                if getattr(args, f) is not None]
    if own_file:
        raise SpecError(f"{', '.join(own_file)} applies to a spec file (agree prove "
                        "FILE.py), not to a registered spec")
    if args.timeout is None:
        args.timeout = 120.0
    entry = registry.get(args.spec)  # unknown names: a clear error
    driver = _driver(entry)
    # A flag of another protocol is a mistake, not something to ignore: `prove raft
    # --acceptors 5` must not print PROVED for 3 servers.
    own = driver.prove_flags
    wrong = [f"--{f}" for f in _protocol_flags()
             if f not in own and getattr(args, f) is not None]
    if wrong:
        raise SpecError(f"{', '.join(wrong)} does not apply to {args.spec} "
                        f"(its flags: {', '.join('--' + f for f in own)})")
    options = driver.prove_options(entry, {f: getattr(args, f) for f in own})
    require_positive(args, "timeout", "reach_budget")
    setup = driver.prove_setup(entry, options)
    return prove_and_report(args, setup.enc, setup.twins, show_invariant=setup.show_invariant,
                            spec_params=setup.spec_params, search_params=setup.search_params)


def prove_and_report(args: argparse.Namespace, enc: Encoding[Any, Any],
                     twins: dict[str, Property], *, show_invariant: bool = False,
                     spec_params: dict[str, Any] | None = None,
                     search_params: tuple[dict[str, Any], ...] = ()) -> int:
    """Check --action against the encoding, prove, print the checklist (or JSON) and
    return the verdict's exit code: the part `agree prove` shares across protocols."""
    if args.action:
        unknown = [a for a in args.action if a not in enc.action_labels()]
        if unknown:
            raise SpecError(f"{args.spec} has no action {unknown[0]!r} "
                            f"(actions: {', '.join(enc.action_labels())})")
    show: Callable[[Obligation], None] | None = None
    if not args.json:
        _prove_header(args.spec, enc, args.timeout)
        if show_invariant:
            names = (c.name for c in enc.invariants(enc.fresh_state("h")))
            print("invariant: " + ", ".join(names))
            print()

        def show(ob: Obligation) -> None:
            print(_ob_line(ob), flush=True)
            if ob.cti is not None:
                print(_cti_text(ob.cti, twins))
    result = prove(enc, timeout=args.timeout,
                   spec_factory=_spec_factory(args.spec, spec_params or {}),
                   twins=twins, only_actions=args.action, stop_at_first=args.first,
                   reach_budget=args.reach_budget, progress=show,
                   search_params=search_params)
    if args.json:
        print(json.dumps(_prove_json(result), indent=1))
    else:
        print(_prove_footer(result))
    return result.exit_code


def _prove_header(name: str, enc: Encoding[Any, Any], timeout: float) -> None:
    from agree.symbolic.z3base import SEED, z3_version
    print(f"agree prove {name}")
    print("assumptions: " + "; ".join(enc.assumptions))
    print(f"z3 {z3_version()}, random seed {SEED}, timeout {timeout:g} s per obligation")
    print()


def _ob_line(ob: Obligation) -> str:
    word = {"proved": "proved", "counterexample": "FAILED", "unknown": "UNKNOWN"}[ob.verdict]
    why = f"  ({ob.reason})" if ob.reason else ""
    if len(ob.cases) > 1:  # split into cases (named in --json)
        why += f"  (by {len(ob.cases)} cases)"
    return f"  {word:<8} {ob.seconds:7.2f}s  {ob.title}{why}"


def _cti_text(cti: CTI, twins: Mapping[str, Property]) -> str:
    spec = cti.spec
    params = " ".join(f"{k}={v}" for k, v in cti.params.items())
    lines = [f"    counterexample ({spec.name} {params}):", "    pre-state:"]
    lines += render_view(spec.view(cti.pre), "      ")
    if cti.post is not None:
        lines.append(f"    step: {cti.label}")
        lines += diff_views(spec.view(cti.pre), spec.view(cti.post), "      ")
    for m in cti.mismatches:
        lines.append(f"    ENCODING MISMATCH: {m}")
    if not cti.mismatches:
        lines.append("    re-checked: the Python predicates and the explicit successor "
                     "function agree with Z3")
    if cti.reachable == "reachable":
        n = len(cti.trace) if cti.trace is not None else 0
        lines.append(f"    the pre-state is REACHABLE in {n} steps: a real bug. Trace:")
        if cti.trace is not None:
            lines += ["      " + ln for ln in render_text(spec, cti.trace).splitlines()]
    else:
        if cti.reachable == "unreachable":
            lines.append(f"    the pre-state is unreachable ({params}; every state explored)")
        else:
            lines.append(f"    reachability of the pre-state: {cti.reachable}")
        lines += _witness_text(cti, twins)
    return "\n".join(lines)


def _witness_text(cti: CTI, twins: Mapping[str, Property]) -> list[str]:
    """Whether the protocol itself breaks the invariant (a reachable CTI, found by
    explicit search), which decides between "the invariant is too weak" and "the
    protocol is wrong"; the trace opens with why the conjunct fails (its witness)."""
    if cti.witness_status == "found" and cti.witness is not None:
        spec, trace = cti.witness_spec, cti.witness
        params = " ".join(f"{k}={v}" for k, v in spec.param_values().items())
        label = trace.steps[-1].label
        lines = [f"    but the protocol breaks the invariant on a reachable state ({spec.name} "
                 f"{params}): {cti.witness_conjunct} fails after {len(trace)} steps, and "
                 f"the state before satisfies every conjunct, so the last step, {label}, "
                 "is a REACHABLE counterexample to induction. Trace:"]
        why = explain(spec, trace, [*spec.declared_properties(), *twins.values()])
        return lines + ["      " + ln for ln in render_text(spec, trace, explanation=why)
                        .splitlines()]
    if cti.witness_status == "holds":
        return ["    every reachable state searched satisfies the invariant: it is too weak "
                "here, not the protocol"]
    if cti.witness_status == "unchecked":
        return ["    (no search for a reachable counterexample to induction was made)"]
    return [f"    a reachable counterexample to induction: {cti.witness_status}"]


def _prove_footer(result: ProofResult) -> str:
    n = len(result.obligations)
    counts = {v: sum(o.verdict == v for o in result.obligations)
              for v in ("proved", "counterexample", "unknown")}
    head = {"proved": "PROVED", "counterexample": "NOT PROVED (counterexample)",
            "unknown": "UNKNOWN (not proved)"}[result.verdict]
    return (f"\n{head}: {counts['proved']}/{n} obligations proved, "
            f"{counts['counterexample']} counterexamples, {counts['unknown']} unknown, "
            f"{result.seconds:.1f} s (z3 {result.z3_version}, seed {result.seed})")


def _prove_json(result: ProofResult) -> dict[str, Any]:
    def cti(c: CTI | None) -> Any:
        if c is None:
            return None
        return {"params": c.params, "pre": repr(c.pre), "step": c.label,
                "post": None if c.post is None else repr(c.post),
                "mismatches": c.mismatches, "reachable": c.reachable,
                "trace": to_json(c.trace) if c.trace is not None else None,
                "reachable_cti_search": c.witness_status,
                "witness_conjunct": c.witness_conjunct,
                "witness": to_json(c.witness) if c.witness is not None else None}
    return {"spec": result.spec, "verdict": result.verdict,
            "assumptions": list(result.assumptions), "z3": result.z3_version,
            "seed": result.seed, "seconds": round(result.seconds, 3),
            "obligations": [{"kind": o.kind, "action": o.action, "conjunct": o.conjunct,
                             "verdict": o.verdict, "seconds": round(o.seconds, 3),
                             "reason": o.reason, "cases": o.cases,
                             "counterexample": cti(o.cti)}
                            for o in result.obligations]}


# -- bmc ------------------------------------------------------------------------


def run_bmc(args: argparse.Namespace, extra: list[str]) -> int:
    entry = registry.get(args.spec)
    driver = _driver(entry)
    if args.depth < 0:
        raise SpecError("--depth must be 0 or more")
    require_positive(args, "timeout")
    driver.check_bmc_flags(encoding=args.encoding, from_trace=args.from_trace)
    cls = entry.spec_class()
    params = parse_spec_params(cls, extra, f"agree bmc {args.spec}", dict(entry.defaults))
    spec = cls(**params)
    setup = driver.bmc_setup(entry, spec, params, encoding=args.encoding,
                             from_trace=args.from_trace)
    start = setup.start
    talk = not args.quiet and not args.json
    if start is not None and talk:
        print(f"{start.describe()}: steps 1..{start.step} replayed on the explicit spec, "
              f"steps {start.step + 1}..{start.step + args.depth} searched symbolically",
              file=sys.stderr, flush=True)
    progress = None
    if talk:
        def progress(k: int, secs: float) -> None:
            print(f"  depth {k}: no violation ({secs:.1f} s)", file=sys.stderr, flush=True)
    res = bmc(setup.enc, setup.searched, args.depth, twins=setup.twins, bound=setup.bound,
              timeout=args.timeout, progress=progress, incremental=args.incremental,
              make_solver=setup.make_solver)
    if start is not None and res.trace is not None:
        res.trace = start.prepend(res.trace)
    if args.json:
        out = _bmc_json(res)
        if start is not None:
            out["from"] = {"file": start.file, "replayed_steps": start.step,
                           "symbolic_steps": res.reached if res.trace else res.depth}
        print(json.dumps(out, indent=1))
        return res.exit_code
    text = _bmc_text(res, spec, setup.twins)
    if start is not None:
        found = (f"; the trace below is {start.step} replayed + {res.reached} found = "
                 f"{start.step + res.reached} steps from Init" if res.trace else "")
        lines = text.split("\n")  # the note goes under the header, above the trace
        lines.insert(2, f"--from {args.from_trace}: depths count from step {start.step}; "
                     f"steps 1..{start.step} were replayed, not searched{found}")
        text = "\n".join(lines)
    print(text)
    return res.exit_code


def _bmc_text(res: BmcResult, spec: Spec[Any], twins: Mapping[str, Property]) -> str:
    params = " ".join(f"{k}={v}" for k, v in res.params.items())
    lines = [f"agree bmc {res.spec} ({params}), depth {res.depth}",
             f"z3 {res.z3_version}, random seed {res.seed}", ""]
    if res.verdict == "violated":
        lines.append(f"VIOLATED: {res.violated} at depth {res.reached} "
                     f"(found in {res.seconds:.1f} s)")
        if res.trace is not None:
            why = explain(spec, res.trace, [*spec.declared_properties(), *twins.values()])
            lines += ["", render_text(spec, res.trace, explanation=why)]
    elif res.verdict == "unknown":
        lines.append(f"UNKNOWN after depth {res.reached}: {res.reason} ({res.seconds:.1f} s)")
    else:
        lines.append(f"no violation up to depth {res.depth} ({res.seconds:.1f} s); "
                     "deeper violations are not ruled out")
    return "\n".join(lines)


def _bmc_json(res: BmcResult) -> dict[str, Any]:
    return {"spec": res.spec, "params": res.params, "depth": res.depth,
            "verdict": res.verdict, "reached": res.reached, "property": res.violated,
            "reason": res.reason, "seconds": round(res.seconds, 3),
            "per_depth_seconds": [round(x, 3) for x in res.per_depth],
            "z3": res.z3_version, "seed": res.seed,
            "trace": to_json(res.trace) if res.trace is not None else None}
