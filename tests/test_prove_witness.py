"""A CTI whose pre-state is unreachable does not clear the protocol: `agree prove`
then searches for a reachable state that breaks the conjunct the step broke.

On a zoo variant that search finds one (the protocol is wrong, whatever the
invariant); on correct Paxos with a weakened invariant it finds none (the invariant
is too weak). Both answers are re-derived here: the witness trace is loaded back
through the trace loader (which replays it on the spec) and its last state is
checked with the Python predicate; "holds" is checked by our own full search.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import deque
from typing import Any

from agree.checker.prove import prove
from agree.checker.registry import build, resolve
from agree.checker.spec import Spec
from agree.properties.paxos import INDUCTIVE, SAFETY
from agree.properties.paxos_lemmas import LEMMAS
from agree.traces.trace import decode_trace

TWINS = {p.name: p for p in (*INDUCTIVE, *LEMMAS, *SAFETY)}


def reachable(spec: Spec[Any]) -> set[Any]:
    seen = set(spec.init())
    queue = deque(seen)
    while queue:
        for t in spec.successors(queue.popleft()):
            if t.state not in seen:
                seen.add(t.state)
                queue.append(t.state)
    return seen


def test_zoo_cti_comes_with_a_reachable_witness() -> None:
    """In a fresh process (the CTI Z3 returns depends on the process's Z3 history)."""
    name = "paxos-2b-keeps-promise"
    run = subprocess.run([sys.executable, "-c", "from agree.checker.cli import main; "
                          "raise SystemExit(main())", "prove", name, "--action", "Phase2b",
                          "--first", "--timeout", "60", "--json"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stderr
    doc = json.loads(run.stdout)
    failed = [o for o in doc["obligations"] if o["verdict"] == "counterexample"]
    assert len(failed) == 1
    cti, conjunct = failed[0]["counterexample"], failed[0]["conjunct"]
    if cti["reachable"] == "reachable":  # the pre-state itself is the witness
        assert cti["trace"] is not None
        return
    assert cti["conjunct_search"] == "found"
    trace = decode_trace(cti["witness"], resolve)  # replays every step, or raises
    assert trace.spec == name
    spec, _ = resolve(name, trace.params)
    states = trace.states
    assert not TWINS[conjunct].holds(spec, states[-1])
    assert all(TWINS[conjunct].holds(spec, st) for st in states[:-1])


def test_weakened_invariant_on_correct_paxos_is_too_weak_not_the_protocol() -> None:
    from agree.properties.paxos_z3 import PaxosZ3

    class WeakPaxosZ3(PaxosZ3):  # type: ignore[misc]
        INVARIANTS = tuple(n for n in PaxosZ3.INVARIANTS if n != "max_bal_ge_max_vbal")

    small = {"max_ballot": 1}  # the default configuration, for this test: quick to search
    res = prove(WeakPaxosZ3(acceptors=3, values=None, max_ballot=None), timeout=60,
                spec_factory=lambda p: build("paxos", p or small)[0], twins=TWINS,
                only_actions=["Phase1b"], reach_budget=60)
    failed = [o for o in res.obligations if o.verdict != "proved"]
    assert failed
    for ob in failed:
        cti = ob.cti
        assert cti is not None and cti.reachable == "unreachable"
        assert cti.witness_status == "holds" and cti.witness is None
        specs = [cti.spec, build("paxos", small)[0]]
        for spec in specs:
            assert all(TWINS[ob.conjunct].holds(spec, st) for st in reachable(spec))
