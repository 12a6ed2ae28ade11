"""Why a Multi-Paxos property fails: the witnesses of properties/multipaxos.py.

Each builder runs only once its property has found the state (or step) bad, and names
the votes that chose a value in a slot as :class:`~agree.spec.Fact` s, each established
by the step that sent its 2b message (traces/explain.py finds those steps).
"""

from __future__ import annotations

from collections.abc import Mapping

from agree.models.multipaxos import M2b, MultiPaxos, MultiPaxosState, show_value
from agree.spec import Fact, Witness
from agree.spec.witness import Line, fallible

__all__ = ["changed", "chosen_by", "never_proposed", "two_chosen"]

Voters = Mapping[tuple[int, int, int], set[int]]


def chosen_by(spec: MultiPaxos, voters: Voters, slot: int, v: int) -> tuple[int, frozenset[int]]:
    """The lowest ballot in which a quorum voted for v in ``slot``, and who voted there."""
    smallest = spec.acceptors_n // 2 + 1
    b = min(b for (sl, b, val), accs in voters.items()
            if sl == slot and val == v and len(accs) >= smallest)
    return b, frozenset(voters[(slot, b, v)])


def _vote_fact(spec: MultiPaxos, a: int, b: int, slot: int, v: int) -> Fact:
    m = M2b(a, b, slot, v)
    return Fact(spec.show("acceptors", a), lambda st: m in st.msgs)


def _quorum_line(spec: MultiPaxos, voters: Voters, slot: int, v: int,
                 ) -> tuple[Line, dict[str, object]]:
    b, accs = chosen_by(spec, voters, slot, v)
    parts: list[str | Fact] = [f"{show_value(v)} chosen in slot {slot}, ballot {b}, by "]
    for k, a in enumerate(sorted(accs)):
        parts += [", "] if k else []
        parts.append(_vote_fact(spec, a, b, slot, v))
    return tuple(parts), {"value": v, "ballot": b, "voters": accs}


@fallible
def two_chosen(spec: MultiPaxos, voters: Voters, slot: int, vals: frozenset[int]) -> Witness:
    """Agreement: the two lowest values chosen in one slot, each with its ballot and votes."""
    two = sorted(vals)[:2]
    lines, data = zip(*(_quorum_line(spec, voters, slot, v) for v in two), strict=True)
    names = " and ".join(show_value(v) for v in two)
    return Witness(f"two values are chosen in slot {slot}, {names}", list(lines),
                   {"slot": slot, "chosen": list(data)})


@fallible
def never_proposed(spec: MultiPaxos, voters: Voters, slot: int, v: int) -> Witness:
    """Validity: a value chosen in a slot that no 2a message proposed there."""
    line, data = _quorum_line(spec, voters, slot, v)
    return Witness(f"{show_value(v)} is chosen in slot {slot} but was never proposed there",
                   [(*line, ", never proposed in that slot")], {"slot": slot, **data})


@fallible
def changed(spec: MultiPaxos, s: MultiPaxosState, t: MultiPaxosState, voters: Voters,
            slot: int, before: frozenset[int], after: frozenset[int]) -> Witness:
    """Chosen-stable: the step after which a slot's chosen value is no longer the one it was."""
    old = min(before)
    new = sorted(after - before) or sorted(after)
    first, data_old = _quorum_line(spec, voters, slot, old)
    lines = [first]
    data: dict[str, object] = {"slot": slot, "was": data_old}
    if new:
        line, data_new = _quorum_line(spec, voters, slot, new[0])
        lines.append((*line, ", in this step"))
        data["now"] = data_new
    shown = ", ".join(show_value(v) for v in sorted(after)) or "nothing"
    return Witness(f"slot {slot} had {show_value(old)} chosen; after this step: {shown}",
                   lines, data)
