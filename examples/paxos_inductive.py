"""Lamport's Paxos with its inductive invariant declared: `agree prove THIS_FILE`.

The spec is models/paxos.py (Paxos.tla), whose ``state_space`` is TypeOK as a set;
the invariant is Paxos.tla's ``Inv`` split into conjuncts (properties/paxos.py) and
the three lemmas that make it inductive (properties/paxos_lemmas.py), the same
conjuncts `agree prove paxos` proves with Z3. `--drop NAME` leaves one out, to see the
counterexamples to induction it is there to rule out.
"""

from typing import Any, ClassVar

from agree.models.paxos import Paxos
from agree.properties.paxos import INDUCTIVE, SAFETY
from agree.properties.paxos_lemmas import LEMMAS


class InductivePaxos(Paxos):
    """Paxos.tla, with ``Inv`` and its lemmas as the inductive invariant."""

    inductive: ClassVar[tuple[Any, ...]] = (*INDUCTIVE, *LEMMAS)


#: What the invariant must imply: agreement and validity.
PROPERTIES = SAFETY
