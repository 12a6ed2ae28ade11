"""Inductive invariants of any spec, checked by trying states of a declared space.

``agree prove FILE.py`` for a user's spec: its ``state_space()`` (TypeOK as a finite
set, agree.spec.space) and its ``inductive`` conjuncts (``conjuncts.py``); the states
tried, all of them or samples near the reachable ones (``search.py``, ``sample.py``);
each counterexample to induction classified by explicit search (``classify.py``).
No solver: the spec's own Python actions and predicates are the semantics.
"""

from agree.induction.classify import classify
from agree.induction.conjuncts import SPACE, Invariant, invariant_of
from agree.induction.search import (
    CTI,
    EXHAUSTIVE_LIMIT,
    STRATEGIES,
    Budget,
    InductionResult,
    choose,
    induct,
)

__all__ = ["CTI", "EXHAUSTIVE_LIMIT", "SPACE", "STRATEGIES", "Budget", "InductionResult",
           "Invariant", "choose", "classify", "induct", "invariant_of"]
