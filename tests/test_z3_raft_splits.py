"""The instantiated splits of the Raft obligations that were unknown, or proved only
near the timeout, in full runs: the steps of state_machine_safety'
(symbolic/raft/cases_safety.py), BecomeLeader => leader_kept'
(symbolic/raft/cases_kept.py) and AdvanceCommitIndex => commit_in_later'
(symbolic/raft/cases_commit.py) in ``agree prove raft --part complete``, and
HandleAppendEntriesRequest => log_matching' with 5 servers (symbolic/raft/cases.py).
Each query is asked at the chain's constants, so the obligation is proved with few
quantifier instantiations whatever the process asked before. Split only by parts or
asked whole, HandleAppendEntriesRequest => state_machine_safety' took 62k
instantiations alone and ran into the timeout with 749k after a full run;
AdvanceCommitIndex => state_machine_safety' 243k (29 s) alone; BecomeLeader =>
leader_kept' 199k (19 s) and AdvanceCommitIndex => commit_in_later' 492k (39 s) in
full runs; with 5 servers, HandleAppendEntriesRequest => log_matching' ran into the
timeout. Each verdict is asked in a fresh process (tests/_fresh.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pytest
import z3
from _fresh import in_fresh_process

from agree.symbolic.prove import by_cases
from agree.symbolic.raft.driver import raft_encoding_for
from agree.symbolic.z3base import Case


@dataclass
class Asked:
    proved: bool
    instantiations: int
    cases: list[str]


@functools.cache
def _encoding(servers: int, part: str) -> Any:
    return raft_encoding_for("raft", servers=servers, values=None, proof=True,
                             params={"max_restarts": -1}, part=part)


def _ask(label: str, conjunct: str, timeout: float, drop: str | None = None,
         servers: int = 3, part: str = "complete") -> Asked:
    """Ask one obligation by the split cases.py gives it (without the facts whose name
    starts with ``drop``), summing Z3's quantifier instantiations over its queries."""
    enc = _encoding(servers, part)
    s = enc.fresh_state("s")
    guard, t = enc.update(label, s, "p")
    goal = next(c.formula for c in enc.invariants(t) if c.name == conjunct)
    cases: list[Case] = enc.cases(label, conjunct, s, t, "p", goal) or []
    assert cases, f"{label} => {conjunct}' is not split"
    names = [c.name for c in cases]
    if drop is not None:
        assert any(n.startswith(drop) for n in names), drop
        cases = [c for c in cases if not c.name.startswith(drop)]
    counts: list[int] = []

    def count(sv: z3.Solver) -> None:
        st = sv.statistics()
        counts.append(int(st.get_key_value("quant instantiations"))
                      if "quant instantiations" in st.keys() else 0)  # noqa: SIM118

    proved = by_cases([*enc.axioms(), guard], enc.invariants(s), goal, cases, timeout, count)
    return Asked(proved, sum(counts), names)


@dataclass(frozen=True)
class Split:
    """One split obligation: proved within ``bound`` quantifier instantiations, and not
    proved without the facts whose names start with ``drop`` (``why``: what they say)."""

    label: str
    conjunct: str
    bound: int
    drop: str
    why: str
    servers: int = 3
    part: str = "complete"


SPLITS = {
    # Split by parts alone: 62,218 instantiations in a fresh process, 749,162 (unknown)
    # after a full run.
    "append-request-safety": Split(
        "HandleAppendEntriesRequest", "state_machine_safety", 15_000,
        "msg_commit_known at the request",
        "the receiver's new commit index rests on what the request says was committed"),
    "advance-commit-safety": Split(
        "AdvanceCommitIndex", "state_machine_safety", 15_000,
        "acked_in_later at the new commit",
        "a later term's grown log holds the newly committed entry only by acked_in_later"),
    "five-servers-log-matching": Split(
        "HandleAppendEntriesRequest", "log_matching", 5_000,
        "aereq_log_match at the request",
        "an appended entry agrees with another log's only by what the request says of it",
        servers=5, part="all"),
    "become-leader-kept": Split(
        "BecomeLeader", "leader_kept", 5_000, "the new leader holds the entry",
        "the new leader holds the kept entry only through its voters' logs"),
    "advance-commit-later": Split(
        "AdvanceCommitIndex", "commit_in_later", 1_000,
        "acked_in_later at the new commit and t2",
        "the new commit is in later grown logs only by acked_in_later"),
    "append-response-later": Split(
        "HandleAppendEntriesResponse", "acked_in_later", 2_000, "ack_msg_later at the response",
        "a newly counted acknowledgement is in later grown logs only by ack_msg_later"),
    "client-request-completeness": Split(
        "ClientRequest", "leader_completeness", 1_000, "commit_in_grown at part",
        "the new entry lies past every committed prefix only by commit_in_grown"),
}


def _split(key: str) -> None:
    c = SPLITS[key]
    asked = _ask(c.label, c.conjunct, 10, servers=c.servers, part=c.part)
    assert asked.proved
    # From instantiated facts, not by Z3's search.
    assert asked.instantiations < c.bound, asked.instantiations
    assert not _ask(c.label, c.conjunct, 5, drop=c.drop, servers=c.servers,
                    part=c.part).proved, c.why


@pytest.mark.parametrize("key", sorted(SPLITS))
def test_split_proves_by_instantiated_facts_and_needs_its_key_fact(key: str) -> None:
    in_fresh_process("test_z3_raft_splits", "_split", key)


def _kept_by_the_action() -> None:
    # UpdateTerm changes no variable grown_logs_match reads: the pre-state's conjunct is
    # the goal. ClientRequest grows a grown log: not so.
    asked = _ask("UpdateTerm", "grown_logs_match", 10)
    assert asked.proved and asked.cases == ["unchanged by the action"]
    assert asked.instantiations < 100, asked.instantiations
    assert "unchanged by the action" not in _ask("ClientRequest", "grown_logs_match", 10).cases
    # Restart, Timeout and UpdateTerm grow no log or commit: each part of
    # leader_completeness' from the pre-state's at its constants.
    for label in ("Restart", "Timeout", "UpdateTerm"):
        asked = _ask(label, "leader_completeness", 10)
        assert asked.proved, label
        assert asked.instantiations < 2_000, (label, asked.instantiations)
    assert not _ask("Timeout", "leader_completeness", 2,
                    drop="leader_completeness part").proved


def test_obligations_the_action_leaves_alone_by_the_pre_state() -> None:
    in_fresh_process("test_z3_raft_splits", "_kept_by_the_action")
