"""What a counterexample to induction means: is its pre-state reachable (the protocol
is wrong), and if not, does some reachable state break the invariant anyway (then too),
or does every reachable state satisfy it (the invariant is too weak)? Answered with the
breadth-first checker (agree.checker.cti), as ``agree prove`` does for Z3's CTIs."""

from __future__ import annotations

from typing import Any

from agree.checker.cti import reachable_cti, reachable_states
from agree.induction.conjuncts import SPACE
from agree.induction.search import InductionResult
from agree.spec import Property, Spec

__all__ = ["classify"]


def classify(result: InductionResult, budget: float = 20.0,
             fallback: Spec[Any] | None = None) -> None:
    """Classify every CTI of ``result`` in place. One search (``budget`` seconds) looks
    for all kept pre-states of every kind of CTI at once; a kind with a reachable one
    shows that one. If some kind has none, a second search (the spec, then
    ``fallback``, its default configuration) looks for a reachable CTI of any conjunct."""
    spec = result.spec
    targets = {key: [c.pre for c in bucket]
               for key, bucket in result.candidates_of.items() if key[0] != "init"}
    reached = reachable_states(spec, targets, budget) if targets else None
    for i, cti in enumerate(result.ctis):
        if cti.kind == "init":
            cti.reachable = "reachable"  # an initial state
            continue
        assert reached is not None
        trace = reached.traces.get(cti.key)
        if trace is None:
            cti.reachable = reached.status(cti.key)
            continue
        pre = trace.states[-1]
        shown = next((c for c in result.candidates_of[cti.key] if c.pre == pre), cti)
        shown.found, shown.reachable, shown.trace = cti.found, "reachable", trace
        result.ctis[i] = shown
    if all(c.reachable == "reachable" for c in result.ctis):
        return
    inv = result.invariant
    spaces: dict[int, Any] = {id(spec): inv.space}

    def in_space(of: Spec[Any], st: Any) -> bool:
        """TypeOK of the configuration searched (the fallback's is its own)."""
        declared = spaces.get(id(of))
        if declared is None:
            declared = spaces[id(of)] = of.state_space()
        return bool(declared is None or declared.contains(st))

    space = Property(SPACE, "invariant", in_space)
    specs = [spec]
    if fallback is not None and fallback.param_values() != spec.param_values():
        specs.append(fallback)
    result.witness = reachable_cti(specs, [space, *inv.conjuncts], budget)
