"""Coverage-guided swarm simulation: a search beyond BFS depth for any spec.

Breadth-first search stops at the depth its levels can hold; plain random walks
(simulate.py) rarely line up the twenty-odd specific steps a deep bug needs. This
search keeps a *corpus* of states that showed something new and walks on from them,
so a deep state is reached as a chain of short walks, each starting where an earlier
one found novelty: the ``--from`` seeds of a search from a prefix, chosen by the
engine instead of by hand. Nothing about the spec is assumed beyond its API:

* **Features** (:func:`features`) are read from the spec's own :meth:`Spec.view`:
  each ``variable = value`` pair (``log[s2] = <<1,v1>>``), each element of a set- or
  bag-valued variable (a message in flight, an election of the history), and each
  set's size. A state that shows a feature never seen before joins the corpus,
  remembered by the walk that reached it (its path from Init).
* **Walks** start from a corpus state chosen by a tournament: of a few drawn at
  random, the one whose rarest new feature has been seen least often since (now and
  then an initial state instead). Each walk takes up to ``depth`` steps inside the
  state constraint, never a stuttering one (a successor equal to its state checks
  nothing new; simulate.py keeps them, as a walk there is a uniform choice).
* **Swarm configurations**: each walk enables a random subset of the actions (each
  kept with probability 1/2; when none of the kept ones is enabled the walk takes any
  enabled step), so some walks never drop a message or never time out, and runs that
  uniform choice makes vanishingly rare become common (Groce et al., "Swarm
  testing", ISSTA 2012).
* **Weighted walks** (``weighted``, off by default): a fraction of the walks instead
  draws a random weight per action and per step (an action with its arguments:
  ``Timeout(i=s3)``, the delivery of one message), skewed so that a few steps dominate
  and most are starved, and chooses among the enabled steps in proportion. A starved
  message stays in flight while the rest of the run goes on and is delivered late, when
  little else is enabled; a starved server never times out. This is the idea of PCT's
  random priorities (Burckhardt et al., ASPLOS 2010; Ozkan et al., OOPSLA 2018 for
  message passing) as weights: a bug that needs one message delivered late, after a
  dozen other steps, is one a uniform choice almost never makes, and one a subset of
  the actions cannot single out (the same action delivers every message). Off by
  default: on the zoo's deep Raft bugs from Init they found none the subset walks do
  not, and they cost the issue #20 user variant seeds (benchmarks/swarm_zoo.py
  --weighted).

Properties are checked with TLC's semantics, as simulate.py does: invariants on every
state visited and on successors outside the constraint, action properties on every
step generated. A violation's trace is the path from Init (loops cut out), then
shortened by one-step shortcuts (:func:`shortcut`) and step removal
(checker/minimize.py), keeping every state before the last inside the constraint: an
ordinary trace that ``agree trace show`` replays.

Reproducible: every choice draws from one ``random.Random(f"{seed}/swarm")`` and
successors and features come in deterministic order, so the same seed gives the same
walks in any process; a time limit only decides how many of them run. Finding
nothing proves nothing.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agree.checker.core import initial_states
from agree.checker.explore import SAFETY_KINDS, select_properties
from agree.checker.minimize import minimize_steps
from agree.checker.result import Violation, ViolationKind
from agree.checker.simulate import SimulationResult, _cut_cycles, _holds, _raised
from agree.spec import Property, Spec, SpecError, Transition
from agree.traces.trace import Step, Trace

__all__ = ["SwarmResult", "features", "swarm"]

#: A feature: (variable, value, or "in:" element / "#" size of a collection).
Feature = tuple[str, str]
#: Corpus states drawn per tournament, and the chance a walk starts at Init instead.
TOURNAMENT = 4
FROM_INIT = 0.05
#: Rounds of shortcuts and step removal when shortening a trace.
SHORTEN_ROUNDS = 4
#: How many steps a shortcut may take (the states within it: branching ** radius).
SHORTCUT_RADIUS = 2
#: Weighted walks draw each weight as uniform(0, 1) ** WEIGHT_SKEW: the larger, the
#: more a few steps dominate a walk and the rest are starved (delivered late, or never).
WEIGHT_SKEW = 3.0
#: With deepening, the first cap on a path from Init (steps).
DEEPEN_START = 10
#: With deepening, corpus states drawn before giving up on one below the cap.
DEEPEN_DRAWS = 16
#: States whose expansion (successors inside the constraint) is remembered; past it the
#: memory starts over.
CACHE = 20_000


@dataclass
class SwarmResult(SimulationResult):
    """A simulation's figures plus the corpus the search grew, and the length of the
    walk's trace before it was shortened."""

    corpus: int = 0
    features: int = 0
    found_steps: int = 0
    from_init: int = 0  # walks that started at an initial state
    weighted: int = 0  # walks that chose their steps by random weights
    path_cap: int | None = None  # with deepening: the cap on paths from Init at the end
    restarts: int = 0  # times the search started over (``restart``)

    def to_json(self) -> dict[str, Any]:
        doc = super().to_json()
        doc["swarm"] = {"corpus": self.corpus, "features": self.features,
                        "found_steps": self.found_steps, "walks_from_init": self.from_init,
                        "weighted_walks": self.weighted, "path_cap": self.path_cap,
                        "restarts": self.restarts}
        return doc


@dataclass
class _Entry:
    """A corpus state and how it was reached: ``steps`` from ``parent``'s state (a
    root, with no parent, is an initial state), ``length`` steps from Init in all."""

    parent: _Entry | None
    steps: tuple[Transition[Any], ...]
    state: Any
    novel: tuple[Feature, ...]
    length: int = 0

    def path(self) -> tuple[Any, list[Transition[Any]]]:
        """The initial state and the steps from it to this state."""
        chunks, entry = [], self
        while entry.parent is not None:
            chunks.append(entry.steps)
            entry = entry.parent
        return entry.state, [t for chunk in reversed(chunks) for t in chunk]


def features(spec: Spec[Any], state: Any) -> list[Feature]:
    """The abstract features of ``state``, read from the spec's view: per variable its
    value, or for a collection (a set, or a bag as a dict) each element and the size."""
    out: list[Feature] = []
    for key, value in spec.view(state).items():
        if isinstance(value, dict | set | frozenset):
            out += [(key, f"in:{x}") for x in value]
            out.append((key, f"#{len(value)}"))
        else:
            out.append((key, str(value)))
    return out


def swarm(spec: Spec[Any], properties: Sequence[Property] | None = None, *,
          depth: int = 40, walks: int | None = None, seed: int = 0,
          only: Sequence[str] | None = None, deadlock: bool = False,
          time_limit: float | None = None, shorten: bool = True,
          weighted: float = 0.0, deepen: int = 0, restart: int = 0,
          clock: Callable[[], float] = time.monotonic) -> SwarmResult:
    """Search for a safety violation by coverage-guided swarm walks of up to ``depth``
    steps each, until one is found, ``walks`` walks have run or ``time_limit`` seconds
    have passed (at least one of the two bounds is required). ``weighted``: the fraction
    of the walks that choose their steps by random weights (spread evenly: 0.5 is every
    other walk); 0 draws the very walks of a search without them. ``deepen``: with N > 0,
    paths from Init are capped at ``DEEPEN_START`` steps plus one per N walks run.
    ``restart``: with N > 0, the search starts over every N walks (a new corpus, new
    feature counts, the deepening cap back at its start).
    ``clock``: what ``time_limit`` counts (``time.process_time``: CPU seconds)."""
    if depth < 1 or (walks is not None and walks < 1):
        raise SpecError("--depth and --runs must be at least 1")
    if not 0.0 <= weighted <= 1.0:
        raise SpecError("--weighted must be a fraction from 0 to 1")
    if deepen < 0:
        raise SpecError("--deepen must be 0 (off) or a number of walks")
    if restart < 0:
        raise SpecError("--restart must be 0 (off) or a number of walks")
    if walks is None and not time_limit:
        raise SpecError("--swarm needs a budget: --runs N or --time-limit SECONDS")
    props = [p for p in select_properties(
        properties if properties is not None else spec.declared_properties(), only)
        if p.kind in SAFETY_KINDS]
    result = SwarmResult(spec.name, spec.param_values(), [p.name for p in props], seed, depth)
    result.coverage = {a.label: 0 for a in spec.actions()}
    start, begin = time.monotonic(), clock()
    deadline = begin + time_limit if time_limit else None
    _Search(spec, props, result, random.Random(f"{seed}/swarm"), deadlock, weighted,
            deepen, restart).run(depth, walks, deadline, clock)
    if shorten and result.violations:
        _shorten(spec, props, result)
    result.seconds = time.monotonic() - start
    return result


class _Search:
    """One search's corpus, feature counts and property bookkeeping."""

    def __init__(self, spec: Spec[Any], props: list[Property], result: SwarmResult,
                 rng: random.Random, deadlock: bool, weighted: float = 0.0,
                 deepen: int = 0, restart: int = 0) -> None:
        self.spec, self.result, self.rng, self.deadlock = spec, result, rng, deadlock
        self.weighted, self.deepen, self.restart = weighted, deepen, restart
        self.since = 0  # walks since the search last started over
        self.invs = [p for p in props if p.kind == "invariant"]
        self.act_props = [p for p in props if p.kind == "action"]
        self.somes = [p for p in props if p.kind == "sometimes"]
        self.constrained = type(spec).constraint is not Spec.constraint
        self.labels = [a.label for a in spec.actions()]
        self.counts: dict[Feature, int] = {}
        self.corpus: list[_Entry] = []
        self.roots: list[_Entry] = []
        # Each state's expansion and features, computed once (a walk often passes a state
        # again: from the corpus, its first steps are the same few); both are functions
        # of the state alone, so the walks are the same with or without them.
        self.expanded: dict[Any, tuple[int, list[Transition[Any]]]] = {}
        self.seen: dict[Any, tuple[Feature, ...]] = {}

    # -- properties --------------------------------------------------------------

    def fail(self, prop: Property | None, kind: ViolationKind, init: Any,
             steps: list[Transition[Any]]) -> None:
        name = prop.name if prop is not None else "deadlock"
        trace = Trace.from_transitions(self.spec, init, _cut_cycles(init, steps), name, kind)
        self.result.violations.append(Violation(
            name, kind, trace, prop.doc if prop else
            "some action is enabled in every reachable state"))
        self.result.found_steps = len(steps)

    def check_state(self, state: Any, init: Any, steps: list[Transition[Any]]) -> bool:
        """Check the invariants on ``state`` (reached by ``steps``); False on a violation."""
        for p in self.invs:
            if not _holds(self.spec, p, steps, init, state):
                self.fail(p, "invariant", init, steps)
                return False
        for p in tuple(self.somes):
            if _holds(self.spec, p, steps, init, state):
                self.somes.remove(p)
                self.result.satisfied = sorted({*self.result.satisfied, p.name})
        return True

    # -- the corpus ----------------------------------------------------------------

    def observe(self, feats: Sequence[Feature]) -> tuple[Feature, ...]:
        """Count a state's features; return the ones never seen before."""
        novel = []
        for f in feats:
            n = self.counts.get(f, 0)
            if n == 0:
                novel.append(f)
            self.counts[f] = n + 1
        return tuple(dict.fromkeys(novel))

    def pick(self) -> _Entry:
        """A walk's start: the corpus state whose rarest new feature is least seen among
        a few drawn at random, or now and then an initial state."""
        rng = self.rng
        if not self.corpus or rng.random() < FROM_INIT:
            self.result.from_init += 1
            return self.roots[rng.randrange(len(self.roots))]
        cap = self.cap()
        if cap is None:
            drawn = [self.corpus[rng.randrange(len(self.corpus))] for _ in range(TOURNAMENT)]
        else:  # deepening: only states below the cap can be walked on
            drawn = []
            for _ in range(DEEPEN_DRAWS):
                e = self.corpus[rng.randrange(len(self.corpus))]
                if e.length < cap:
                    drawn.append(e)
                    if len(drawn) == TOURNAMENT:
                        break
            if not drawn:
                self.result.from_init += 1
                return self.roots[rng.randrange(len(self.roots))]
        return min(drawn, key=lambda e: min(self.counts[f] for f in e.novel))

    def cap(self) -> int | None:
        """With deepening, the cap on a path's length from Init now; else None."""
        return DEEPEN_START + self.since // self.deepen if self.deepen else None

    def configuration(self) -> _Config:
        """A walk's swarm configuration: a subset of the actions (each kept w.p. 1/2), or
        for the ``weighted`` fraction of the walks (walk n when n * weighted passes a
        whole number) random weights per action and step."""
        n = self.result.runs
        if math.floor(n * self.weighted) > math.floor((n - 1) * self.weighted):
            self.result.weighted += 1
            return _Weights(self.rng)
        return _Subset(self.rng, frozenset(a for a in self.labels if self.rng.random() < 0.5))

    # -- the search ----------------------------------------------------------------

    def run(self, depth: int, walks: int | None, deadline: float | None,
            clock: Callable[[], float] = time.monotonic) -> None:
        spec, result = self.spec, self.result
        inits = list(initial_states(spec))
        if not inits:
            raise SpecError(f"spec {spec.name} has no initial state")
        for init in inits:
            if not self.check_state(init, init, []):
                return
        self.start_over(inits)
        while walks is None or result.runs < walks:
            if deadline is not None and clock() > deadline:
                result.stopped = "time-limit"
                break
            if self.restart and self.since == self.restart:
                self.start_over(inits)
            entry = self.pick()
            cap = self.cap()
            if not self.walk(entry, depth if cap is None else min(depth, cap - entry.length)):
                break
        result.corpus = len(self.corpus)
        result.path_cap = self.cap()
        result.features = len(self.counts)

    def start_over(self, inits: list[Any]) -> None:
        """A fresh corpus and feature counts, rooted at the initial states."""
        if self.corpus:
            self.result.restarts += 1
        self.counts, self.corpus, self.since = {}, [], 0
        self.roots = [_Entry(None, (), init, self.observe(features(self.spec, init)))
                      for init in inits]

    def walk(self, entry: _Entry, depth: int) -> bool:
        """One walk from ``entry``; False once a property is violated."""
        spec, result = self.spec, self.result
        result.runs += 1
        self.since += 1
        config = self.configuration()
        init, path = entry.path()  # from Init; the walk's steps are appended
        state = entry.state
        begin = len(path)
        for _ in range(depth):
            known = self.expanded.get(state)
            if known is None:  # first visit: generate and check every successor
                known = self.expand(state, init, path)
                if known is None:
                    return False
            generated, inside = known
            result.generated += generated
            if not inside:
                if self.deadlock and not generated:
                    self.fail(None, "deadlock", init, path)
                    return False
                return True
            t = config.choose(inside)
            path.append(t)
            result.steps += 1
            result.coverage[t.action.label] += 1
            state = t.state
            feats = self.seen.get(state)
            if feats is None:  # first visit: check the invariants, read the features
                if not self.check_state(state, init, path):
                    return False
                if len(self.seen) >= CACHE:
                    self.seen.clear()
                feats = self.seen[state] = tuple(features(spec, state))
            novel = self.observe(feats)
            if novel:
                self.corpus.append(_Entry(entry, tuple(path[begin:]), state, novel,
                                          len(path)))
        return True

    def expand(self, state: Any, init: Any, path: list[Transition[Any]],
               ) -> tuple[int, list[Transition[Any]]] | None:
        """Generate ``state``'s successors, check the action properties on every step
        and the invariants on successors outside the constraint, and remember how many
        there were and the (non-stuttering) ones inside; None on a violation."""
        spec = self.spec
        try:
            succ = list(spec.successors(state))
        except Exception as exc:
            raise _raised(spec, init, path, exc) from exc
        inside = []
        for t in succ:
            for p in self.act_props:
                if not _holds(spec, p, path, init, state, t.state):
                    self.fail(p, "action", init, [*path, t])
                    return None
            if t.state == state:
                continue  # a stuttering step: nothing new to check or to walk on
            if not self.constrained or spec.constraint(t.state):
                inside.append(t)
            elif self.invs and not self.check_state(t.state, init, [*path, t]):
                return None
        if len(self.expanded) >= CACHE:
            self.expanded.clear()
        known = self.expanded[state] = (len(succ), inside)
        return known


class _Config:
    """How a walk chooses among the enabled steps inside the constraint."""

    def choose(self, inside: list[Transition[Any]]) -> Transition[Any]:
        raise NotImplementedError


class _Subset(_Config):
    """Uniformly among the steps of the kept actions (any step when none is enabled)."""

    def __init__(self, rng: random.Random, keep: frozenset[str]) -> None:
        self.rng, self.keep = rng, keep

    def choose(self, inside: list[Transition[Any]]) -> Transition[Any]:
        pool = [t for t in inside if t.action.label in self.keep] or inside
        return pool[self.rng.randrange(len(pool))]


class _Weights(_Config):
    """In proportion to weights drawn once per walk, when first met: one per action and
    one per step (action and arguments), multiplied."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.weights: dict[Any, float] = {}

    def weight(self, key: Any) -> float:
        w = self.weights.get(key)
        if w is None:
            w = self.weights[key] = self.rng.random() ** WEIGHT_SKEW
        return w

    def choose(self, inside: list[Transition[Any]]) -> Transition[Any]:
        ws = []
        for t in inside:
            try:
                step = self.weight((t.action.label, t.args))
            except TypeError:  # unhashable arguments: weigh them by how they print
                step = self.weight((t.action.label, repr(t.args)))
            ws.append(self.weight(t.action.label) * step + 1e-12)
        return self.rng.choices(inside, ws)[0]


def _shorten(spec: Spec[Any], props: Sequence[Property], result: SwarmResult) -> None:
    """Shorten each invariant or action-property trace: shortcuts (below), then step
    removal keeping every state before the last inside the state constraint (so it stays
    a behaviour), repeated while either gains."""
    for v in result.violations:
        if v.trace is None or v.kind not in ("invariant", "action"):
            continue
        prop = next(p for p in props if p.name == v.property)
        trace = v.trace
        for _ in range(SHORTEN_ROUNDS):
            before = len(trace)
            trace = minimize_steps(spec, shortcut(spec, trace, prop), props,
                                   within_constraint=True).trace
            if len(trace) == before:
                break
        v.trace = trace


def shortcut(spec: Spec[Any], trace: Trace, prop: Property, radius: int = SHORTCUT_RADIUS,
             ) -> Trace:
    """Take the shortcuts along ``trace``: from each state, a path of at most ``radius``
    steps (through states inside the constraint) that already violates ``prop`` ends the
    trace, and one to a later state of the trace skips the steps between, the furthest
    first. Step removal misses these in message-passing specs, where a step's message
    records the state it was sent from."""
    steps, state, i = list(trace.steps), trace.init, 0
    out: list[Step] = []

    def done(path: list[Step]) -> Trace:
        return Trace(trace.spec, trace.params, trace.init, path, trace.property, trace.kind)

    while i < len(steps):
        later = {st.state: j for j, st in enumerate(steps) if j > i}
        best: tuple[int, list[Step]] | None = None
        frontier: list[tuple[Any, list[Step]]] = [(state, [])]
        seen = {state}
        for _ in range(radius):
            nxt_frontier: list[tuple[Any, list[Step]]] = []
            for src, path in frontier:
                for t in spec.successors(src):
                    if t.state in seen:
                        continue
                    seen.add(t.state)
                    way = [*path, Step(t.label, t.action.label, t.args, t.state)]
                    if _violates(spec, prop, src, t.state):
                        return done(out + way)
                    j = later.get(t.state)
                    # steps i..j reach steps[j].state; the way must be shorter
                    if j is not None and j - i + 1 > len(way) and (
                            best is None or j - len(way) > best[0] - len(best[1])):
                        best = (j, way)
                    if spec.constraint(t.state):
                        nxt_frontier.append((t.state, way))
            frontier = nxt_frontier
        way = best[1] if best is not None else [steps[i]]
        i = best[0] + 1 if best is not None else i + 1
        out += way
        state = way[-1].state
    return done(out)


def _violates(spec: Spec[Any], prop: Property, state: Any, nxt: Any) -> bool:
    """Whether ``prop`` fails on ``nxt`` (an invariant) or on the step (an action
    property); a property that raises off the trace counts as holding here."""
    try:
        return not (prop.holds(spec, nxt) if prop.kind == "invariant"
                    else prop.holds(spec, state, nxt))
    except Exception:  # not a shortcut; the walk reports what it meets itself
        return False
