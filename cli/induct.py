"""`agree prove FILE.py`: a user's spec, its declared inductive invariant checked by
trying states of its declared space (agree.induction), no solver involved.

Exit codes: 0 no counterexample to induction (the text says whether every state of
the space was tried, i.e. inductive for this configuration, or how many were), 1 a
counterexample, 2 bad input (no declared space, a space or spec that raises, a bad
flag).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from agree.cli.check import instantiate, parse_spec_params
from agree.cli.common import require_positive
from agree.induction import (
    CTI,
    SPACE,
    STRATEGIES,
    Budget,
    InductionResult,
    classify,
    induct,
    invariant_of,
)
from agree.protocols import registry
from agree.spec import Spec, SpecError
from agree.traces.explain import explain
from agree.traces.text import diff_views, render_text, render_view
from agree.traces.trace import encode_value, to_json

__all__ = ["FILE_FLAGS", "add_flags", "run_induct"]

#: The `agree prove` options that apply to a spec file only (dest names).
FILE_FLAGS = ("strategy", "time_limit", "max_states", "seed", "seeds", "drop",
              "exhaustive_limit")
#: The Z3 options that do not apply to a spec file.
Z3_ONLY = ("acceptors", "servers", "part", "action", "timeout")


def add_flags(p: argparse.ArgumentParser) -> None:
    """The options of `agree prove FILE.py` (spec parameters follow as flags)."""
    p.add_argument("--strategy", default=None,
                   choices=("auto", *STRATEGIES),
                   help="FILE.py: which states to try: every state of the declared space "
                   "(exhaustive), random edits of states on random walks (mutation), or "
                   "Hypothesis-drawn edits that shrink (hypothesis); default auto, by the "
                   "space's size")
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="FILE.py: seconds of search (default 60)")
    p.add_argument("--max-states", type=int, default=None, metavar="N",
                   help="FILE.py: stop after trying N states satisfying the invariant")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="FILE.py: seed of the random walks and edits (default 0)")
    p.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="FILE.py: states from random walks to edit (default 1000)")
    p.add_argument("--drop", action="append", default=None, metavar="CONJUNCT",
                   help="FILE.py: leave this conjunct out of the invariant (repeatable), "
                   "to see what it is needed for")
    p.add_argument("--exhaustive-limit", type=int, default=None, metavar="N",
                   help="FILE.py: with --strategy auto, enumerate spaces of at most N "
                   "states (default 1,000,000)")


def run_induct(args: argparse.Namespace, extra: list[str]) -> int:
    """Load the spec file, check its declared invariant, print the report."""
    wrong = [f"--{f.replace('_', '-')}" for f in Z3_ONLY if getattr(args, f) is not None]
    if wrong:
        raise SpecError(f"{', '.join(wrong)} does not apply to a spec file (its flags: "
                        "--strategy, --time-limit, --max-states, --seed, --seeds, --drop, "
                        "--exhaustive-limit, --first, --reach-budget, --json)")
    cls, props, defaults = registry.load(args.spec)
    params = parse_spec_params(cls, extra, f"agree prove {args.spec}", defaults)
    spec = instantiate(cls, params, args.spec)
    time_limit = 60.0 if args.time_limit is None else args.time_limit
    require_positive(args, "reach_budget")
    if time_limit <= 0:
        raise SpecError("--time-limit must be a positive number")
    for flag in ("max_states", "seeds", "exhaustive_limit"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise SpecError(f"--{flag.replace('_', '-')} must be at least 1")
    inv = invariant_of(spec, props, args.drop or ())
    budget = Budget(seconds=time_limit, max_states=args.max_states, first=args.first,
                    seeds=args.seeds or 1000, seed=args.seed or 0)
    kwargs: dict[str, Any] = {}
    if args.exhaustive_limit is not None:
        kwargs["exhaustive_limit"] = args.exhaustive_limit
    result = induct(spec, inv, strategy=args.strategy or "auto", budget=budget, **kwargs)
    fallback = _default(cls, defaults)
    classify(result, args.reach_budget, fallback)
    if args.json:
        print(json.dumps(result_json(result, args.spec), indent=1))
    else:
        print(report_text(result, args.spec, budget))
    return result.exit_code


def _default(cls: type[Spec[Any]], defaults: dict[str, Any]) -> Spec[Any] | None:
    try:
        return cls(**defaults)
    except Exception:  # a spec without defaults: no fallback configuration
        return None


def _params(spec: Spec[Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in spec.param_values().items())


def report_text(result: InductionResult, ref: str, budget: Budget) -> str:
    """The report: what was checked, how, what was found, the verdict."""
    spec, inv = result.spec, result.invariant
    lines = [f"agree prove {ref} ({spec.name} {_params(spec)})".replace(" )", ")"),
             f"state space (TypeOK): {inv.space.describe()}",
             f"  {result.space_size:,} states" if result.space_size < 10**12 else
             f"  about 10^{len(str(result.space_size)) - 1} states",
             "inductive invariant: TypeOK (the declared space), " + ", ".join(inv.names()[1:])]
    if inv.safety:
        lines.append("it must imply: " + ", ".join(p.name for p in inv.safety))
    lines.append(f"strategy: {result.strategy} ({result.why})")
    if result.seeds:
        lines.append(f"seeds: {result.seeds:,} distinct states on random walks (seed "
                     f"{budget.seed}, {budget.depth} steps each)")
    lines.append("")
    stop = f"; stopped: {result.stopped}" if result.stopped else ""
    lines.append(f"tried {result.candidates:,} states of the space: {result.tried:,} distinct "
                 f"ones satisfy the invariant, their {result.steps:,} steps checked "
                 f"({result.seconds:.1f} s{stop})")
    for cti in result.ctis:
        lines += ["", *cti_text(cti, spec)]
    if result.witness is not None:
        lines += ["", *_witness_text(result)]
    lines += ["", _verdict(result)]
    return "\n".join(lines)


def cti_text(cti: CTI, spec: Spec[Any]) -> list[str]:
    """One counterexample: the obligation, the pre-state, the step, its reachability."""
    more = f"  ({cti.found:,} pre-states found)" if cti.found > 1 else ""
    how = "" if cti.edits is None else (
        "  [a state met on a random walk]" if cti.edits == 0 else
        f"  [{cti.edits} edit{'s' if cti.edits > 1 else ''} of a reachable state"
        + (", shrunk by Hypothesis]" if cti.shrunk else "]"))
    lines = [f"COUNTEREXAMPLE  {cti.title}{more}{how}", "    pre-state:"]
    lines += render_view(spec.view(cti.pre), "      ")
    if cti.post is not None:
        lines.append(f"    step: {cti.label}")
        lines += diff_views(spec.view(cti.pre), spec.view(cti.post), "      ")
        if cti.conjunct == SPACE:
            lines.append("    the next state is outside the declared state space")
    if cti.kind == "init":
        lines.append("    an initial state: the invariant does not hold initially")
    elif cti.reachable == "reachable" and (cti.trace is None or len(cti.trace) == 0):
        lines.append("    the pre-state is an initial state: a real bug")
    elif cti.reachable == "reachable":
        lines.append(f"    the pre-state is REACHABLE in {len(cti.trace)} steps: a real bug. "
                     "Trace:")
        lines += ["      " + ln for ln in render_text(spec, cti.trace).splitlines()]
    elif cti.reachable == "unreachable":
        lines.append(f"    the pre-state is unreachable ({_params(spec)}; every state "
                     "explored)")
    else:
        lines.append(f"    reachability of the pre-state: {cti.reachable}")
    return lines


def _witness_text(result: InductionResult) -> list[str]:
    """Whether the protocol breaks the invariant on a reachable state anyway."""
    w = result.witness
    assert w is not None
    if w.status == "found" and w.trace is not None and w.spec is not None:
        spec, trace = w.spec, w.trace
        lines = [f"Some pre-state above is not shown reachable, but the protocol breaks the "
                 f"invariant on a reachable state ({spec.name} {_params(spec)}): "
                 f"{w.conjunct} fails after {len(trace)} steps, from a state satisfying "
                 f"every conjunct, so the last step, {trace.steps[-1].label}, is a REACHABLE "
                 "counterexample to induction. Trace:"]
        why = explain(spec, trace, [*spec.declared_properties(),
                                    *result.invariant.conjuncts])
        return lines + ["  " + ln for ln in render_text(spec, trace, explanation=why)
                        .splitlines()]
    if w.status == "holds":
        return ["Every reachable state satisfies the invariant (every state explored): the "
                "counterexamples above are unreachable, so the invariant is too weak here, "
                "not the protocol."]
    return [f"A reachable counterexample to induction: {w.status}."]


def _verdict(result: InductionResult) -> str:
    params = _params(result.spec)
    if result.ctis:
        return (f"NOT INDUCTIVE: {len(result.ctis)} kind"
                f"{'s' if len(result.ctis) > 1 else ''} of counterexample "
                f"(obligation), after {result.tried:,} states satisfying the invariant "
                f"({result.strategy}, {result.seconds:.1f} s)")
    if result.complete:
        return (f"INDUCTIVE for this configuration ({params}): all {result.space_size:,} "
                f"states of the declared space tried; the {result.tried:,} satisfying the "
                f"invariant step only to states satisfying it ({result.seconds:.1f} s)")
    return (f"no counterexample to induction in {result.tried:,} states satisfying the "
            f"invariant ({result.strategy}, {result.seconds:.1f} s); not every state of the "
            "space was tried, so this is not a proof")


def result_json(result: InductionResult, ref: str) -> dict[str, Any]:
    """The result as JSON (states and traces encoded as in trace files)."""
    def cti(c: CTI) -> dict[str, Any]:
        return {"kind": c.kind, "obligation": c.title, "action": c.action,
                "conjunct": c.conjunct, "step": c.label, "pre": encode_value(c.pre),
                "post": None if c.post is None else encode_value(c.post), "edits": c.edits,
                "shrunk": c.shrunk, "found": c.found, "reachable": c.reachable,
                "trace": to_json(c.trace) if c.trace is not None else None}
    w = result.witness
    return {"spec": ref, "name": result.spec.name, "params": result.spec.param_values(),
            "verdict": result.verdict, "strategy": result.strategy, "why": result.why,
            "space_size": result.space_size, "invariant": result.invariant.names(),
            "safety": [p.name for p in result.invariant.safety],
            "candidates": result.candidates, "tried": result.tried, "steps": result.steps,
            "seeds": result.seeds, "complete": result.complete, "stopped": result.stopped,
            "seconds": round(result.seconds, 3),
            "counterexamples": [cti(c) for c in result.ctis],
            "reachable_cti_search": None if w is None else {
                "status": w.status, "conjunct": w.conjunct,
                "trace": to_json(w.trace) if w.trace is not None else None}}
