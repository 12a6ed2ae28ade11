"""Explicit induction over a declared state space: is ``Inv`` inductive for a spec's
configuration?

``Inv`` is the declared space (TypeOK) and the declared conjuncts. The checklist is
the one ``agree prove`` asks Z3 (symbolic/prove.py), answered by trying states:
every initial state satisfies each conjunct; from every state satisfying ``Inv``,
every step of the spec leads to a state satisfying each conjunct (a counterexample
to induction, CTI, otherwise); every ``Inv``-state satisfies the spec's other
invariants (the safety properties ``Inv`` must imply). Which states are tried is the
strategy's business:

* ``exhaustive``: every state of the space, in order (simplest first). Only this
  one may conclude: ``Inv`` is inductive *for this configuration*;
* ``mutation``: states on seeded random walks of the spec, then those states edited
  (agree.induction.sample), as fast as Python goes;
* ``hypothesis``: the same edits drawn by Hypothesis, so a CTI shrinks to the fewest
  edits of the earliest seed.

The strategy is chosen by the size of the space (:func:`choose`) unless named. A
sampled run finds CTIs or says how many ``Inv``-states it tried, never more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from agree.checker.cti import ReachableCTI, obligation_title
from agree.induction.conjuncts import SPACE, Invariant
from agree.induction.sample import MAX_EDITS, DrawChooser, RandomChooser, edit, walk_seeds
from agree.spec import Spec, SpecError

__all__ = [
    "CTI",
    "EXHAUSTIVE_LIMIT",
    "HYPOTHESIS_LIMIT",
    "STRATEGIES",
    "Budget",
    "InductionResult",
    "choose",
    "induct",
]

Strategy = Literal["exhaustive", "mutation", "hypothesis"]
#: What a CTI breaks: (kind, action label, conjunct); one is shown per key.
CTIKey = tuple[str, str | None, str]
STRATEGIES: tuple[str, ...] = ("exhaustive", "mutation", "hypothesis")
#: Spaces up to this many states are enumerated (2PC with 3 RMs: 49,152).
EXHAUSTIVE_LIMIT = 1_000_000
#: Beyond the exhaustive limit, up to this size Hypothesis draws the edits (slower, but
#: its CTIs shrink); beyond it the raw mutation loop's throughput matters more.
HYPOTHESIS_LIMIT = 10**9
#: Candidate pre-states kept per (kind, action, conjunct), for the reachability search.
KEEP = 200
#: Hypothesis examples per run (runs repeat, reseeded, until the budget is spent).
CHUNK = 400


@dataclass
class CTI:
    """A counterexample: an initial state breaking a conjunct (``init``), an
    ``Inv``-state with a step to a state breaking one (``step``), or an ``Inv``-state
    breaking a safety property (``safety``)."""

    kind: Literal["init", "step", "safety"]
    conjunct: str
    pre: Any
    label: str | None = None
    action: str | None = None
    post: Any = None
    #: How many edits of a reachable seed gave ``pre`` (sampled strategies); 0: the
    #: seed itself, reachable. None: enumerated.
    edits: int | None = None
    #: "reachable" (``trace`` reaches ``pre``), "unreachable", "unknown (...)".
    reachable: str = "unchecked"
    trace: Any = None
    #: How many distinct pre-states were found for this (kind, action, conjunct).
    found: int = 1
    #: Shrunk by Hypothesis.
    shrunk: bool = False

    @property
    def key(self) -> CTIKey:
        return (self.kind, self.action, self.conjunct)

    @property
    def title(self) -> str:
        return obligation_title(self.kind, self.action, self.conjunct)


@dataclass(frozen=True)
class Budget:
    """When a run stops: ``seconds`` of search, ``max_states`` Inv-states tried, or
    (``first``) its first CTI. ``seeds`` states from random walks of ``depth`` steps
    (sampled strategies), ``seed`` for every random choice."""

    seconds: float = 60.0
    max_states: int | None = None
    first: bool = False
    seeds: int = 1000
    depth: int = 40
    seed: int = 0


@dataclass
class InductionResult:
    """What a run tried and found: data, printed by the CLI."""

    spec: Spec[Any]
    invariant: Invariant
    strategy: str
    why: str
    space_size: int
    candidates: int = 0
    tried: int = 0
    steps: int = 0
    seeds: int = 0
    complete: bool = False
    stopped: str | None = None
    seconds: float = 0.0
    ctis: list[CTI] = field(default_factory=list)
    #: When some CTI's pre-state is not shown reachable: does a reachable state break
    #: the invariant anyway (agree.checker.cti.reachable_cti)?
    witness: ReachableCTI | None = None
    #: Per (kind, action, conjunct), the pre-states kept (the classifier searches for
    #: a reachable one among them).
    candidates_of: dict[CTIKey, list[CTI]] = field(default_factory=dict, repr=False)

    @property
    def verdict(self) -> Literal["inductive", "counterexample", "none found"]:
        if self.ctis:
            return "counterexample"
        return "inductive" if self.complete else "none found"

    @property
    def exit_code(self) -> int:
        """1 a counterexample; 0 none (inductive, or none found: the text says which)."""
        return 1 if self.ctis else 0


def choose(size: int, exhaustive_limit: int = EXHAUSTIVE_LIMIT) -> tuple[Strategy, str]:
    """The strategy for a space of ``size`` states, and why."""
    if size <= exhaustive_limit:
        return "exhaustive", f"the space has {size:,} states, at most {exhaustive_limit:,} " \
                             "are enumerated"
    if size <= HYPOTHESIS_LIMIT:
        return "hypothesis", f"the space has {size:,} states, more than {exhaustive_limit:,}" \
                             f" and at most {HYPOTHESIS_LIMIT:,}"
    return "mutation", f"the space has {_big(size)} states, more than {HYPOTHESIS_LIMIT:,}"


def _big(n: int) -> str:
    return f"{n:,}" if n < 10**12 else f"about 10^{len(str(n)) - 1}"


class _Stop(Exception):
    """The budget ran out (or the first CTI was found)."""


class _Found(Exception):
    """A new CTI, raised inside a Hypothesis test so that it shrinks."""

    def __init__(self, cti: CTI) -> None:
        super().__init__(cti.title)
        self.cti = cti


class _Run:
    """One run's bookkeeping: the Inv-states tried, the CTIs kept, the budget."""

    def __init__(self, spec: Spec[Any], inv: Invariant, budget: Budget,
                 result: InductionResult) -> None:
        self.spec, self.inv, self.budget, self.result = spec, inv, budget, result
        self.deadline = time.monotonic() + budget.seconds
        self.seen: set[Any] = set()
        self.kept: dict[CTIKey, list[CTI]] = {}
        self.counts: dict[CTIKey, int] = {}
        #: The CTIs of each Inv-state that has some (so that asking again, as
        #: Hypothesis does when it shrinks, gives the same answer).
        self.of_state: dict[Any, list[CTI]] = {}
        #: False inside Hypothesis tests: the budget is checked between its runs.
        self.raising = True

    def spent(self) -> bool:
        """Whether the budget is spent (and why, in ``result.stopped``)."""
        if time.monotonic() > self.deadline:
            self.result.stopped = f"time limit ({self.budget.seconds:g} s)"
            return True
        cap = self.budget.max_states
        if cap is not None and self.result.tried >= cap:
            self.result.stopped = f"--max-states {cap:,}"
            return True
        return False

    def keep(self, cti: CTI) -> None:
        """Remember a CTI (at most ``KEEP`` pre-states per kind, the rest counted)."""
        bucket = self.kept.setdefault(cti.key, [])
        self.counts[cti.key] = self.counts.get(cti.key, 0) + 1
        if len(bucket) < KEEP:
            bucket.append(cti)
        if self.budget.first and self.raising:
            self.result.stopped = "the first counterexample (--first)"
            raise _Stop

    def init_states(self) -> None:
        for s in self.spec.init():
            if not self.inv.space.contains(s):
                self.keep(CTI("init", SPACE, s, edits=0))
            for c in self.inv.conjuncts:
                if not c.holds(self.spec, s):
                    self.keep(CTI("init", c.name, s, edits=0))

    def examine(self, s: Any, edits: int | None, in_space: bool = False) -> list[CTI]:
        """Count ``s`` as a candidate; if it is a new Inv-state, check the safety
        properties on it and each of its steps, and keep what breaks. Returns the
        CTIs of ``s`` (the same ones however often it is asked). ``in_space``: ``s``
        is known to be in the space (enumerated from it)."""
        self.result.candidates += 1
        if self.raising and self.result.candidates & 63 == 0 and self.spent():
            raise _Stop
        if s in self.seen:
            return self.of_state.get(s, [])
        spec, inv = self.spec, self.inv
        try:
            if not (in_space or inv.space.contains(s)) or \
                    not all(c.holds(spec, s) for c in inv.conjuncts):
                return []
            self.seen.add(s)
            self.result.tried += 1
            found = [CTI("safety", p.name, s, edits=edits) for p in inv.safety
                     if not p.holds(spec, s)]
            for tr in spec.successors(s):
                self.result.steps += 1
                post = tr.state
                if post is s:
                    continue
                label = tr.action.label
                if not inv.space.contains(post):
                    found.append(CTI("step", SPACE, s, tr.label, label, post, edits))
                    continue
                found += [CTI("step", c.name, s, tr.label, label, post, edits)
                          for c in inv.conjuncts if not c.holds(spec, post)]
        except Exception as exc:
            raise SpecError(f"{spec.name}: the spec raised {type(exc).__name__}: {exc} on "
                            f"a state of the declared space satisfying the invariant: "
                            f"{s!r}") from None
        if found:
            self.of_state[s] = found
            for cti in found:
                self.keep(cti)
        return found


def induct(spec: Spec[Any], inv: Invariant, *, strategy: str = "auto",
           budget: Budget = Budget(), exhaustive_limit: int = EXHAUSTIVE_LIMIT,
           ) -> InductionResult:
    """Try states of the declared space against the checklist; CTIs unclassified
    (agree.induction.classify does that)."""
    try:
        size = inv.space.size()
    except Exception as exc:
        raise SpecError(f"{spec.name}: the declared state space raised "
                        f"{type(exc).__name__}: {exc}") from None
    if strategy == "auto":
        chosen, why = choose(size, exhaustive_limit)
    elif strategy in STRATEGIES:
        chosen, why = strategy, "chosen with --strategy"  # type: ignore[assignment]
    else:
        raise SpecError(f"unknown strategy {strategy!r} (strategies: auto, "
                        f"{', '.join(STRATEGIES)})")
    result = InductionResult(spec, inv, chosen, why, size)
    run = _Run(spec, inv, budget, result)
    t0 = time.monotonic()
    try:
        run.init_states()
        if chosen == "exhaustive":
            _exhaustive(run)
        else:
            seeds = walk_seeds(spec, budget.seeds, budget.depth, budget.seed)
            result.seeds = len(seeds)
            for s in seeds:
                run.examine(s, 0)
            (_mutation if chosen == "mutation" else _hypothesis)(run, seeds)
    except _Stop:
        pass
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(f"{spec.name}: the declared state space or the spec raised "
                        f"{type(exc).__name__}: {exc}") from None
    result.seconds = time.monotonic() - t0
    for bucket in run.kept.values():
        result.ctis.append(_representative(bucket))
    result.ctis.sort(key=lambda c: ({"init": 0, "step": 1, "safety": 2}[c.kind],
                                    _order(spec, c.action), inv.names().index(c.conjunct)
                                    if c.conjunct in inv.names() else len(inv.names())))
    for cti in result.ctis:
        cti.found = run.counts[cti.key]
    result.candidates_of = run.kept
    return result


def _order(spec: Spec[Any], label: str | None) -> int:
    labels = [a.label for a in spec.actions()]
    return labels.index(label) if label in labels else -1


def _representative(bucket: list[CTI]) -> CTI:
    """The one shown first: Hypothesis's shrunk one, else the fewest edits of a seed,
    else the first found."""
    return min(bucket, key=lambda c: (not c.shrunk, -1 if c.edits is None else c.edits))


def _exhaustive(run: _Run) -> None:
    for s in run.inv.space.values():
        run.examine(s, None, in_space=True)
    run.result.complete = run.result.stopped is None


def _mutation(run: _Run, seeds: list[Any]) -> None:
    if not seeds:
        return
    ch = RandomChooser(run.budget.seed)
    space = run.inv.space
    while True:
        s = ch.choice(seeds)
        edits = ch.integer(1, MAX_EDITS)
        for _ in range(edits):
            s = edit(space, s, seeds, ch)
        run.examine(s, edits)


def _hypothesis(run: _Run, seeds: list[Any]) -> None:
    """Hypothesis draws a seed (shrinking toward the first, an initial state), a number
    of edits (toward none) and each edit's choices. A CTI of a kind not yet shrunk fails
    the test, so Hypothesis shrinks it, and the shrunk one leads its bucket (kinds met
    on the way fail a later run, and are shrunk then). Runs of ``CHUNK`` examples repeat,
    reseeded, until the budget is spent."""
    if not seeds:
        return
    space = run.inv.space
    run.raising = False
    known: set[CTIKey] = set(run.kept)

    def test(data: Any) -> None:
        ch = DrawChooser(data)
        s = ch.choice(seeds)
        edits = ch.integer(0, MAX_EDITS)
        for _ in range(edits):
            s = edit(space, s, seeds, ch)
        new = [c for c in run.examine(s, edits) if c.key not in known]
        if new:
            raise _Found(new[0])

    chunk = 0
    while not run.spent():
        wrapped = settings(max_examples=CHUNK, deadline=None, database=None,
                           suppress_health_check=list(HealthCheck),
                           phases=(Phase.generate, Phase.shrink))(
            hypothesis_seed(run.budget.seed * 100_003 + chunk)(given(st.data())(test)))
        chunk += 1
        try:
            wrapped()
        except _Found as found:
            cti = found.cti
            known.add(cti.key)
            bucket = run.kept[cti.key]
            bucket[:] = [cti, *(c for c in bucket if c is not cti)]
            cti.shrunk = True
            if run.budget.first:  # the shrunk one only, not others met while shrinking
                run.result.stopped = "the first counterexample (--first)"
                run.kept = {cti.key: bucket}
                return
