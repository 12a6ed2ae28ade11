"""What must hold of Multi-Paxos (models/multipaxos.py): agreement per slot, validity,
and that a value chosen in a slot never changes.

A value is chosen in a slot when a quorum sent 2b messages for it there in one ballot
(Chand-Liu-Stoller's ``Chosen(s, v)``). The predicates read the state's fields only
(``msgs`` with message types "2a" and "2b"), through the spec's per-state index, so the
zoo variants (models/zoo/multipaxos.py) reuse them; a failing one returns a witness
(properties/multipaxos_witness.py), built only then.
"""

from __future__ import annotations

from agree.models.multipaxos import NOOP, MultiPaxos, MultiPaxosState
from agree.properties import multipaxos_witness as why
from agree.spec import Property, Witness, action_property, invariant, property_of, sometimes

__all__ = ["PROPERTIES", "SAFETY", "chosen"]


def chosen(spec: MultiPaxos, s: MultiPaxosState) -> tuple[frozenset[int], ...]:
    """Per slot (index slot-1): the values a quorum voted for there in one ballot."""
    return spec.index(s).chosen


@invariant
def agreement(spec: MultiPaxos, s: MultiPaxosState) -> bool | Witness:
    """In every slot at most one value is chosen (Chand-Liu-Stoller's Consistency)."""
    ix = spec.index(s)
    for slot, vals in enumerate(ix.chosen, 1):
        if len(vals) > 1:
            return why.two_chosen(spec, ix.voters, slot, vals)
    return True


@invariant
def validity(spec: MultiPaxos, s: MultiPaxosState) -> bool | Witness:
    """A value chosen in a slot is a client value or the no-op, proposed (by a 2a
    message) in that slot."""
    ix = spec.index(s)
    for slot, vals in enumerate(ix.chosen, 1):
        for v in sorted(vals):
            proposed = any(sl == slot and val == v for (_, sl), val in ix.proposed.items())
            if not proposed or not (v == NOOP or v in spec.values):
                return why.never_proposed(spec, ix.voters, slot, v)
    return True


@action_property
def chosen_stable(spec: MultiPaxos, s: MultiPaxosState, t: MultiPaxosState) -> bool | Witness:
    """A value chosen in a slot stays chosen there, and alone: no step changes or adds to
    what a slot has chosen (checked on every step, not only on reachable states)."""
    if s.msgs is t.msgs:
        return True
    before, after = spec.index(s).chosen, spec.index(t).chosen
    for slot, (was, now) in enumerate(zip(before, after, strict=True), 1):
        if was and now != was:
            return why.changed(spec, s, t, spec.index(t).voters, slot, was, now)
    return True


@sometimes
def log_filled(spec: MultiPaxos, s: MultiPaxosState) -> bool:
    """Every slot gets a value chosen: a model in which the log never fills is vacuous."""
    return all(chosen(spec, s))


#: The safety properties: agreement, validity, chosen values stable.
SAFETY: tuple[Property, ...] = tuple(property_of(f) for f in (agreement, validity,
                                                              chosen_stable))
PROPERTIES: tuple[Property, ...] = (*SAFETY, property_of(log_filled))
