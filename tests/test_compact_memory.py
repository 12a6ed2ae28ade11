"""The engine's compact structures: the array-backed seen-set and packed frontier states
give back exactly what went in."""

from __future__ import annotations

import random

from _search import reachable

from agree.checker.compact import Compactor
from agree.checker.seen import SeenSet
from agree.models.paxos import Paxos
from agree.protocols import registry


def test_seen_set_behaves_like_a_dict_of_parent_links() -> None:
    rng = random.Random(8)
    seen, model = SeenSet(), {}
    fps = [0, -1, 2**63 - 1, -(2**63)] + [rng.randrange(-(2**63), 2**63) for _ in range(20_000)]
    fps += fps[:5000]  # repeats, after the table has grown several times
    order: list[int] = []
    for fp in fps:
        parent = rng.randrange(-1, len(order)) if order else -1
        new = seen.add(fp, parent)
        assert new == (fp not in model)
        if new:
            model[fp] = parent
            order.append(fp)
    assert len(seen) == len(model) == len(order)
    for k, fp in enumerate(order):
        assert seen.ordinal(fp) == k
        assert seen.parents[k] == model[fp]
    assert seen.ordinal(12345678901) == (order.index(12345678901) if 12345678901 in model
                                         else -1)
    last = len(order) - 1
    chain = seen.chain(last)
    assert chain[-1] == order[last]
    for child, parent in zip(chain[1:], chain, strict=False):
        assert model[child] is not None and order[model[child]] == parent
    assert model[chain[0]] == -1


def test_packed_states_unpack_to_equal_states_of_the_same_type() -> None:
    raft, _ = registry.build("raft", {"servers": 2})
    for spec in (Paxos(max_ballot=1), raft):
        compactor = Compactor()
        states = reachable(spec, 6000)
        packed = [compactor.pack(s) for s in states]
        for s, p in zip(states, packed, strict=True):
            back = compactor.unpack(p)
            assert back == s and type(back) is type(s) and hash(back) == hash(s)
            for f, g in zip(s, back, strict=True):
                assert type(f) is type(g)


def test_recurring_fields_are_shared_and_sets_are_packed() -> None:
    spec = Paxos(max_ballot=1)
    compactor = Compactor()
    states = reachable(spec, 6000)
    packed = [compactor.pack(s) for s in states]
    # max_bal has a few distinct values: one instance each, shared by the packed states
    bals = {s.max_bal for s in states}
    assert len({id(p[1]) for p in packed[-1000:]}) <= len(bals)
    big = next(k for k, s in enumerate(states) if len(s.msgs) > 4)
    assert type(packed[big][4]) is not frozenset and len(packed[big][4]) == len(states[big].msgs)


def test_other_states_pass_through() -> None:
    compactor = Compactor()
    for s in (3, "x", (1, 2), frozenset({1})):
        assert compactor.pack(s) is s and compactor.unpack(s) is s


def test_a_field_mostly_passed_on_from_the_parent_stays_interned() -> None:
    """A model that keeps unchanged values (the parent's instance) builds a field anew
    only now and then: those lookups are what tell whether interning pays, not how many
    states skipped it, so the values it does build are still shared."""
    from typing import NamedTuple

    class S(NamedTuple):
        n: int
        pair: tuple[int, int]

    compactor = Compactor()
    parent = S(0, (1, 2))
    compactor.pack(parent)
    packed = []
    for k in range(3 * 4096):
        # one successor in ten builds an equal pair anew; the others pass it on
        pair = tuple([1, 2]) if k % 10 == 0 else parent.pair
        packed.append(compactor.pack(S(k, pair), parent))  # type: ignore[arg-type]
    built = [p for k, p in enumerate(packed) if k % 10 == 0]
    assert len({id(p.pair) for p in built[-100:]}) == 1
