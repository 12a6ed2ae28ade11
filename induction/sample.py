"""Sampling a declared state space near the reachable states: seeds from random walks
of the spec, and edits of them (one field, one element, one set member at a time).

Most states of a protocol's TypeOK break its invariant (a naive Hypothesis filter on
Paxos rejected 99.9%); a reachable state edited a little often satisfies it and sits
where the invariant is most likely to be too weak. Every choice goes through a
:class:`Chooser`: :class:`RandomChooser` for the fast mutation loop, or
:class:`DrawChooser`, whose explicit Hypothesis draws shrink a counterexample to the
fewest edits of the earliest seed, each edit's values the first of their domains.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from agree.checker.simulate import run_rng
from agree.spec import Spec
from agree.spec.space import OneOf, Space, StateSpace, SubsetOf, TupleOf

__all__ = ["MAX_EDITS", "Chooser", "DrawChooser", "RandomChooser", "edit", "walk_seeds"]

#: Most edits applied to one seed.
MAX_EDITS = 4


class Chooser:
    """Where the choices come from; smaller integers and earlier items are simpler."""

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def choice(self, items: Sequence[Any]) -> Any:
        return items[self.integer(0, len(items) - 1)]


class RandomChooser(Chooser):
    """Seeded pseudo-random choices (the mutation strategy)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser(Chooser):
    """Explicit Hypothesis draws (``st.data()``), so a failing example shrinks."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def integer(self, lo: int, hi: int) -> int:
        return int(self.data.draw(st.integers(lo, hi)))


#: Walks in a row that meet no new state before the seeds are deemed all found.
STALE_WALKS = 50


def walk_seeds(spec: Spec[Any], count: int, depth: int, seed: int) -> list[Any]:
    """Up to ``count`` distinct states met on seeded random walks of ``depth`` steps
    (inside the state constraint), shallowest first (an initial state leads); fewer
    when ``STALE_WALKS`` walks in a row meet nothing new (a small reachable space)."""
    inits = list(spec.init())
    met: dict[Any, int] = {}
    run = stale = 0
    while inits and len(met) < count and stale < STALE_WALKS:
        rng = run_rng(seed, run)
        run += 1
        before = len(met)
        state = inits[rng.randrange(len(inits))]
        for d in range(depth + 1):
            met.setdefault(state, d)
            if len(met) >= count:
                break
            nxt = [t.state for t in spec.successors(state) if spec.constraint(t.state)]
            if not nxt:
                break
            state = nxt[rng.randrange(len(nxt))]
        stale = 0 if len(met) > before else stale + 1
    return sorted(met, key=met.__getitem__)


def edit(space: StateSpace, state: Any, seeds: Sequence[Any], ch: Chooser) -> Any:
    """``state`` with one field changed: a value of its space, or (splice) made more
    like the same field of another seed."""
    fields = [(i, n, sp) for i, (n, sp) in enumerate(space.fields) if sp.size() > 1]
    if not fields:
        return state
    _, name, sp = ch.choice(fields)
    old = getattr(state, name)
    if ch.integer(0, 1) == 0:
        new = _local(sp, old, ch)
    else:
        new = _splice(sp, old, getattr(ch.choice(seeds), name), ch)
    values = {n: getattr(state, n) for n, _ in space.fields}
    values[name] = new
    return space.build(values)


def _local(sp: Space, old: Any, ch: Chooser) -> Any:
    if isinstance(sp, OneOf):
        return ch.choice(sp.choices)
    if isinstance(sp, TupleOf):
        if sp.length == 0:
            return old
        i = ch.integer(0, sp.length - 1)
        return (*old[:i], _local(sp.element, old[i], ch), *old[i + 1:])
    if isinstance(sp, SubsetOf):
        if not sp.universe:
            return old
        e = ch.choice(sp.universe)
        return old - {e} if e in old else old | {e}
    return ch.choice(tuple(sp.values()))


def _splice(sp: Space, old: Any, donor: Any, ch: Chooser) -> Any:
    if isinstance(sp, TupleOf) and sp.length > 0 and len(donor) == sp.length:
        i = ch.integer(0, sp.length - 1)
        return (*old[:i], donor[i], *old[i + 1:])
    if isinstance(sp, SubsetOf) and isinstance(donor, frozenset):
        differ = [e for e in sp.universe if (e in old) != (e in donor)]
        if not differ:
            return old
        e = ch.choice(differ)
        return old - {e} if e in old else old | {e}
    return donor
