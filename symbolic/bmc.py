"""Symbolic bounded model checking with Z3: Init, then up to K steps of Next.

The encoding of a finite configuration (the spec's parameters) is unrolled one
step at a time; at each depth Z3 is asked whether some safety property can
fail. A violation is decoded into explicit states and rebuilt as an ordinary
trace by matching each step against the explicit spec's successors, so a
trace is reported only if the explicit model takes exactly those steps and
its Python predicate fails at the end.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import z3  # type: ignore[import-untyped]

from agree.spec import Property, Spec, SpecError, Transition
from agree.symbolic.z3base import SEED, Encoding, solver, z3_version
from agree.traces.trace import Trace

__all__ = ["BmcResult", "bmc"]


@dataclass
class BmcResult:
    spec: str
    params: dict[str, Any]
    depth: int  # the bound asked for
    verdict: Literal["violated", "holds-to-depth", "unknown"] = "holds-to-depth"
    reached: int = 0  # deepest depth fully checked
    violated: str | None = None
    trace: Trace | None = None
    reason: str = ""
    seconds: float = 0.0
    per_depth: list[float] = field(default_factory=list)
    z3_version: str = field(default_factory=z3_version)
    seed: int = SEED

    @property
    def exit_code(self) -> int:
        """1 a violation found, 0 none up to the depth, 4 unknown."""
        return {"violated": 1, "holds-to-depth": 0, "unknown": 4}[self.verdict]


def bmc(enc: Encoding[Any, Any], spec: Spec[Any], depth: int, *,
        twins: dict[str, Property], bound: int, timeout: float = 300.0,
        incremental: bool = False,
        progress: Callable[[int, float], None] | None = None,
        make_solver: Callable[[], z3.Solver] | None = None) -> BmcResult:
    """Look for a safety violation within ``depth`` steps from the initial states.

    By default one query: ``depth`` steps of Next-or-stutter ending in a violation
    (so any violation within ``depth`` steps); the trace is cut at the first state
    whose Python predicate fails. With ``incremental`` each depth is asked in turn,
    so the violation found is a shortest one (slower: every shallower depth must be
    proved clean). ``bound`` is the configuration's largest ballot/term (for
    decoding); ``twins`` the Python predicates of the encoding's safety properties;
    ``make_solver`` the solver to ask (default: Z3's, with the pinned seeds), e.g.
    ``solver_for("QF_BV")`` or a bit-blasting tactic's.
    """
    start = time.perf_counter()
    res = BmcResult(enc.spec_name, spec.param_values(), depth)
    states = [enc.fresh_state("0")]
    sv = make_solver() if make_solver is not None else solver(None)
    sv.add(*enc.axioms(), enc.init(states[0]))
    first = 0 if incremental else depth
    for k in range(depth + 1):
        if k > 0:
            nxt = enc.fresh_state(str(k))
            sv.add(enc.next(states[k - 1], nxt, f"step{k}") if incremental
                   else enc.next_or_stutter(states[k - 1], nxt, f"step{k}"))
            states.append(nxt)
        if k < first:
            continue
        t0 = time.perf_counter()
        left = timeout - (t0 - start)
        if left <= 0:
            res.verdict, res.reason = "unknown", f"timeout before depth {k}"
            break
        sv.set("timeout", max(1, int(left * 1000)))
        bad = [(c.name, c.formula) for c in enc.safety(states[k])]
        sv.push()
        sv.add(z3.Or([z3.Not(f) for _, f in bad]))
        r = sv.check()
        if r == z3.sat:
            model = sv.model()
            failing = [n for n, f in bad
                       if z3.is_false(model.eval(f, model_completion=True))]
            decoded = [enc.decode(model, st, bound) for st in states]
            sv.pop()
            res.verdict, res.violated = "violated", failing[0] if failing else bad[0][0]
            res.trace = _rebuild(spec, decoded, res.violated, twins, enc.project)
            res.reached = len(res.trace)
            res.per_depth.append(time.perf_counter() - t0)
            break
        sv.pop()
        if r == z3.unknown:
            why = sv.reason_unknown()
            if why == "canceled" or time.perf_counter() - t0 >= left:
                why = "timeout"  # (a tactic's solver may only say "unknown")
            res.verdict = "unknown"
            res.reason = f"at depth {k}: {why}"
            break
        res.reached = k
        res.per_depth.append(time.perf_counter() - t0)
        if progress is not None:
            progress(k, time.perf_counter() - start)
    res.seconds = time.perf_counter() - start
    return res


def _rebuild(spec: Spec[Any], decoded: list[Any], prop: str,
             twins: dict[str, Property],
             project: Callable[[Any], Any] = lambda st: st) -> Trace:
    # Decoded states are projections (``Encoding.project``); the trace carries the
    # explicit states the spec's own steps reach.
    init = next((st for st in spec.init() if project(st) == decoded[0]), None)
    if init is None:
        raise SpecError("bmc: the decoded initial state is not an initial state of the "
                        "explicit spec (the encoding disagrees with the spec)")
    steps: list[Transition[Any]] = []
    twin = twins.get(prop)
    a = init
    for k, (pa, b) in enumerate(itertools.pairwise(decoded), 1):
        if pa == b:  # a stutter the unrolling allows; not a step of the trace
            continue
        if twin is not None and not twin.holds(spec, a):
            break  # the property already fails: cut the trace here
        step = next((tr for tr in spec.successors(a) if project(tr.state) == b), None)
        if step is None:
            raise SpecError(f"bmc: step {k} of the Z3 trace is not a step of the explicit "
                            "spec (the encoding disagrees with the spec)")
        steps.append(step)
        a = step.state
    last = steps[-1].state if steps else init
    if twin is not None and twin.holds(spec, last):
        raise SpecError(f"bmc: Z3 says {prop} fails at the end of the trace, the Python "
                        "predicate says it holds (the encoding disagrees with the spec)")
    return Trace.from_transitions(spec, init, steps, prop, "invariant")
