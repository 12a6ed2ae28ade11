"""Inductive invariants proved with Z3, one (action, conjunct) pair at a time.

For an encoding (an ``Encoding`` of symbolic/z3base.py: symbolic/paxos/invariant.py,
symbolic/paxos/article.py, symbolic/raft/encoding.py and their zoos) the checklist
is: Init implies each conjunct; the whole invariant and each action imply each
conjunct in the next state (and each action property of the step); the invariant
implies each safety property. An
obligation is *proved* only when Z3 answers unsat; sat gives a counterexample to
induction (CTI), unknown (a timeout, or Z3 giving up) stays unknown with Z3's reason.

A CTI is decoded into the explicit spec's state type (small ballots first),
re-checked with the Python predicates and the explicit successor function (so
an encoding bug cannot hide behind a CTI), and classified: is its pre-state
reachable in the explicit model of the same size (a real bug)? If not, does some
reachable state break the invariant anyway (a reachable CTI, maybe of another
conjunct: the protocol is wrong, whatever Z3 picked), or does every reachable
state satisfy it (the invariant is too weak)?
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import z3  # type: ignore[import-untyped]

from agree.checker.cti import ReachableCTI, obligation_title, reachable_cti
from agree.checker.run import check
from agree.spec import Property, Spec, SpecError, Transition
from agree.symbolic.z3base import SEED, Case, Conjunct, Encoding, instances, solver, z3_version
from agree.traces.trace import Trace

__all__ = ["CTI", "Obligation", "ProofResult", "classify", "prove"]

Verdict = Literal["proved", "counterexample", "unknown"]

#: Ballot/term bounds tried, smallest first, when decoding a counterexample.
CTI_BOUNDS = (0, 1, 2, 3, 4)


@dataclass
class CTI:
    """A counterexample to induction (or to Init / safety), as explicit states."""

    params: dict[str, Any]
    pre: Any
    label: str | None = None  # the explicit step, e.g. Phase2b(a=a1, m=<2a bal=1 val=v1>)
    post: Any = None
    #: What re-checking with the explicit model found; empty means all agreed.
    mismatches: list[str] = field(default_factory=list)
    #: "reachable" (a real bug, with ``trace``), "unreachable" (the invariant is too
    #: weak), or "unknown" (the explicit search ran out of budget).
    reachable: str = "unchecked"
    trace: Any = None
    spec: Any = None
    #: When the pre-state is not shown reachable: does some reachable state break the
    #: invariant anyway? Z3 picks an arbitrary pre-state, so an unreachable one does not
    #: clear the protocol. "found": ``witness`` (a trace of ``witness_spec``) reaches a
    #: state breaking ``witness_conjunct`` from one satisfying every conjunct, so its
    #: last step is a reachable CTI; "holds": every reachable state of the
    #: configurations searched satisfies the invariant; or "unknown (...)".
    witness_status: str = "unchecked"
    witness: Any = None
    witness_conjunct: str | None = None
    witness_spec: Any = None


@dataclass
class Obligation:
    """One item of the checklist."""

    kind: Literal["init", "step", "safety", "action"]
    conjunct: str
    action: str | None
    verdict: Verdict
    seconds: float
    reason: str = ""
    cti: CTI | None = None
    #: When proved by cases (symbolic/z3base.py ``Case``): their names.
    cases: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return obligation_title(self.kind, self.action, self.conjunct)


@dataclass
class ProofResult:
    spec: str
    assumptions: tuple[str, ...]
    obligations: list[Obligation] = field(default_factory=list)
    seconds: float = 0.0
    z3_version: str = field(default_factory=z3_version)
    seed: int = SEED

    @property
    def verdict(self) -> Verdict:
        if any(o.verdict == "counterexample" for o in self.obligations):
            return "counterexample"
        if any(o.verdict == "unknown" for o in self.obligations):
            return "unknown"
        return "proved"

    @property
    def exit_code(self) -> int:
        """0 proved, 1 a counterexample, 4 unknown."""
        return {"proved": 0, "counterexample": 1, "unknown": 4}[self.verdict]


SpecFactory = Callable[[dict[str, Any]], Spec[Any]]


def prove(enc: Encoding[Any, Any], *, timeout: float = 120.0,
          spec_factory: SpecFactory | None = None,
          twins: dict[str, Property] | None = None,
          only_actions: Sequence[str] | None = None,
          stop_at_first: bool = False, reach_budget: float = 20.0,
          progress: Callable[[Obligation], None] | None = None,
          search_params: Sequence[dict[str, Any]] = ()) -> ProofResult:
    """Run the checklist. ``spec_factory`` builds the explicit spec (from decoded
    parameters) and ``twins`` maps conjunct names to Python predicates: with both,
    CTIs are decoded, re-checked and classified. ``search_params``: smaller
    configurations the search for a reachable CTI tries before the default one."""
    start = time.perf_counter()
    result = ProofResult(enc.spec_name, enc.assumptions)
    fallback = _default_spec(spec_factory)
    s = enc.fresh_state("s")
    inv = enc.invariants(s)
    hyp = [*enc.axioms(), *(c.formula for c in inv)]

    def run(kind: Any, conjunct: str, action: str | None, facts: list[z3.BoolRef],
            goal: z3.BoolRef, decode: Callable[[], CTI | None],
            cases: list[Case] | None = None, base: Sequence[z3.BoolRef] = ()) -> bool:
        t0 = time.perf_counter()
        if cases and by_cases(base, inv, goal, cases, timeout):
            ob = Obligation(kind, conjunct, action, "proved", time.perf_counter() - t0,
                            cases=[c.name for c in cases])
            result.obligations.append(ob)
            if progress is not None:
                progress(ob)
            return False
        # No split, or the split did not prove it: the whole obligation decides
        # (a case can fail where the obligation holds, so its model proves nothing).
        # After a failed split, look for a small counterexample first: with
        # quantifiers Z3 finds one in bounded ballots where the unbounded query
        # runs into its timeout.
        cti: CTI | None = None
        if cases and spec_factory is not None and twins is not None:
            cti = decode()
            if cti is not None:
                classify(cti, enc, twins, budget=reach_budget, find_reachable_cti=True,
                         fallback=fallback)
                ob = Obligation(kind, conjunct, action, "counterexample",
                                time.perf_counter() - t0, "", cti)
                result.obligations.append(ob)
                if progress is not None:
                    progress(ob)
                return True
        sv = solver(timeout)
        sv.add(*facts, z3.Not(goal))
        r = sv.check()
        verdict: Verdict = ("proved" if r == z3.unsat else
                            "counterexample" if r == z3.sat else "unknown")
        reason = sv.reason_unknown() if r == z3.unknown else ""
        if reason == "canceled":
            reason = "timeout"
        if r != z3.unsat and not cases and spec_factory is not None and twins is not None:
            # Decoding searches with small ballots first; with quantifiers, Z3 often
            # finds such a model where the unbounded query timed out. A model of the
            # bounded query is a model of the unbounded one: a real counterexample.
            cti = decode()
            if cti is not None:
                verdict, reason = "counterexample", ""
                classify(cti, enc, twins, budget=reach_budget, find_reachable_cti=True,
                         fallback=fallback)
        if verdict == "unknown" and kind == "step" and twins is not None:
            # Z3 found no model (nested quantifiers): the explicit model may still
            # reach a state where this action breaks this conjunct.
            cti = explicit_cti(conjunct, action)
            if cti is not None:
                verdict, reason = "counterexample", ""
        ob = Obligation(kind, conjunct, action, verdict, time.perf_counter() - t0, reason, cti)
        result.obligations.append(ob)
        if progress is not None:
            progress(ob)
        return verdict == "counterexample"

    searched: list[ReachableCTI] = []

    def explicit_cti(conjunct: str, action: str | None) -> CTI | None:
        """A reachable CTI of (action, conjunct) from the explicit search for the
        shortest path breaking any conjunct (once per run, in the spec's default
        configuration), or None."""
        assert twins is not None
        if fallback is None or any(c.name not in twins for c in inv):
            return None
        if not searched:
            smaller = [spec_factory(p) for p in search_params] if spec_factory else []
            searched.append(reachable_cti([*smaller, fallback], [twins[c.name] for c in inv],
                                          reach_budget))
        found = searched[0]
        w = found.trace
        if found.status != "found" or w is None or found.conjunct != conjunct \
                or w.steps[-1].action != action:
            return None
        states = w.states
        pre_trace = Trace(w.spec, w.params, w.init, w.steps[:-1])
        where = found.spec or fallback
        return CTI(where.param_values(), states[-2], w.steps[-1].label, states[-1],
                   reachable="reachable", trace=pre_trace, spec=where,
                   witness_status="found", witness=w, witness_conjunct=conjunct,
                   witness_spec=where)

    def decoder(facts: list[z3.BoolRef], goal: z3.BoolRef, label: str | None,
                post: Any) -> Callable[[], CTI | None]:
        def go() -> CTI | None:
            assert spec_factory is not None and twins is not None
            return decode_cti(enc, spec_factory, twins, s, facts, goal, label, post, timeout)
        return go

    for c in enc.invariants(s):
        facts = [*enc.axioms(), enc.init(s)]
        if run("init", c.name, None, facts, c.formula,
               decoder(facts, c.formula, None, None)) and stop_at_first:
            break
    labels = [lb for lb in enc.action_labels() if not only_actions or lb in only_actions]
    for label in labels:
        guard, t = enc.update(label, s, "p")
        for c in enc.invariants(t):
            facts = [*hyp, guard]
            if run("step", c.name, label, facts, c.formula,
                   decoder(facts, c.formula, label, t),
                   enc.cases(label, c.name, s, t, "p", c.formula),
                   [*enc.axioms(), guard]) and stop_at_first:
                break
        for c in enc.step_safety(s, t):  # action properties: over the step itself
            facts = [*hyp, guard]
            if run("action", c.name, label, facts, c.formula,
                   decoder(facts, c.formula, label, t)) and stop_at_first:
                break
    for c in enc.safety(s):
        run("safety", c.name, None, hyp, c.formula, decoder(hyp, c.formula, None, None),
            enc.cases(None, c.name, s, None, "", c.formula), enc.axioms())
    result.seconds = time.perf_counter() - start
    return result


def by_cases(base: Sequence[z3.BoolRef], inv: Sequence[Conjunct], goal: z3.BoolRef,
             cases: Sequence[Case], timeout: float,
             on_check: Callable[[z3.Solver], None] | None = None) -> bool:
    """True when each case is proved (``base``, i.e. the axioms and the action's
    guard, the facts proved before it, the invariant conjuncts the case uses, and
    its assumption imply its goal) and the cases together imply the goal (``base``,
    the facts and each assumption implying its goal leave no model of not goal):
    then the obligation is proved. A case may prove an instance of the goal
    (``instances``). A ``fact`` case is a step, not a case: its goal,
    once proved, joins the facts. Fewer facts only make each query a stronger claim.
    ``on_check`` sees each solver after its check (statistics)."""
    facts: list[z3.BoolRef] = []
    glue: list[z3.BoolRef] = []
    for c in cases:
        target = goal if c.goal is None else c.goal
        sv = solver(timeout)
        sv.add(*base, *facts, *(i.formula for i in inv if c.uses is None or i.name in c.uses),
               c.assume, z3.Not(target))
        r = sv.check()
        if on_check is not None:
            on_check(sv)
        if r != z3.unsat:
            return False
        if c.fact:
            facts.append(z3.Implies(c.assume, target))
        else:
            glue.append(z3.Implies(c.assume, target))
    # When cases prove instances of the goal (``instances``: its quantifiers taken at
    # constants no fact mentions), the glue asks for them: the same claim.
    inst = [x for x, _ in instances(goal)]
    if any(c.goal is not None and any(z3.eq(c.goal, x) for x in inst) for c in cases):
        goal = z3.And(inst)
    sv = solver(timeout)
    sv.add(*base, *facts, *glue, z3.Not(goal))
    r = sv.check()
    if on_check is not None:
        on_check(sv)
    return bool(r == z3.unsat)


def decode_cti(enc: Encoding[Any, Any], spec_factory: SpecFactory,
               twins: dict[str, Property], s: Any, facts: list[z3.BoolRef], goal: z3.BoolRef,
               label: str | None, post: Any, timeout: float) -> CTI | None:
    """Find the CTI with the smallest ballots/terms and read it as explicit states
    (``Encoding.shrink`` drops the values no state uses)."""
    for bound in CTI_BOUNDS:
        sv = solver(timeout)
        sv.add(*facts, z3.Not(goal), enc.bounded(s, bound))
        if post is not None:
            sv.add(enc.bounded(post, bound))
        if sv.check() != z3.sat:
            continue
        model = sv.model()
        states = [enc.decode(model, x, bound) for x in ([s] if post is None else [s, post])]
        params, states = enc.shrink(enc.explicit_params(model, bound), states)
        spec = spec_factory(params)
        pre = states[0]
        cti = CTI(params, pre, spec=spec)
        if post is not None:
            cti.post = states[1]
            step = _find_step(spec, pre, cti.post, label or "", enc.project)
            if step is None:
                cti.mismatches.append(
                    f"the explicit spec has no {label} step from the pre-state to the "
                    "post-state Z3 found (encoding and spec disagree)")
                cti.label = label
            else:
                cti.label = step.label
        return cti
    return None


def _find_step(spec: Spec[Any], pre: Any, post: Any, label: str,
               project: Callable[[Any], Any] = lambda st: st) -> Transition[Any] | None:
    for tr in spec.successors(pre):
        if tr.action.label == label and project(tr.state) == post:
            return tr
    return None


def _default_spec(factory: SpecFactory | None) -> Spec[Any] | None:
    """The spec in its registered default configuration (where the zoo's bugs show)."""
    if factory is None:
        return None
    try:
        return factory({})
    except SpecError:  # a spec whose parameters have no defaults: no fallback
        return None


def classify(cti: CTI, enc: Encoding[Any, Any], twins: dict[str, Property],
             budget: float = 20.0, *, find_reachable_cti: bool = False,
             fallback: Spec[Any] | None = None) -> None:
    """Re-check a CTI with the Python predicates, then search the explicit model
    (same size) for its pre-state. If that does not show it reachable and
    ``find_reachable_cti``, search (the CTI's size, then ``fallback``, the spec's
    default configuration) for a reachable CTI of any conjunct: Z3 picks an arbitrary
    pre-state satisfying the invariant, so an unreachable one does not clear the
    protocol."""
    spec = cti.spec
    s_names = [c.name for c in enc.invariants(enc.fresh_state("chk"))]
    for name in s_names:
        prop = twins.get(name)
        if prop is not None and not prop.holds(spec, cti.pre):
            cti.mismatches.append(f"Z3 says the pre-state satisfies {name}; Python says not")
    target = cti.pre
    found = Property("cti_pre_state", "invariant",
                     lambda _spec, st: enc.project(st) != target)
    res = check(spec, [found], time_limit=budget)
    v = res.violation("cti_pre_state")
    if v is not None:
        cti.reachable, cti.trace = "reachable", v.trace
    elif res.complete:
        cti.reachable = "unreachable"
    else:
        cti.reachable = f"unknown (explicit search stopped: {res.stopped}, " \
                        f"{res.distinct:,} states)"
    if cti.reachable != "reachable" and find_reachable_cti:
        _find_witness(cti, s_names, twins, fallback, budget)


def _find_witness(cti: CTI, names: list[str], twins: dict[str, Property],
                  fallback: Spec[Any] | None, budget: float) -> None:
    """Breadth-first search for the shortest path to a state breaking any conjunct:
    the state before it satisfies them all, so the last step is a reachable CTI."""
    missing = [n for n in names if n not in twins]
    if missing:
        cti.witness_status = f"unknown ({', '.join(missing)}: no Python twin)"
        return
    props = [twins[n] for n in names]
    specs = [cti.spec]
    if fallback is not None and fallback.param_values() != cti.spec.param_values():
        specs.append(fallback)
    found = reachable_cti(specs, props, budget)
    cti.witness_status, cti.witness, cti.witness_spec = found.status, found.trace, found.spec
    cti.witness_conjunct = found.conjunct
