"""What a Raft state holds, read the way the prover lemmas read it: granted votes and
entries in flight, a voter's vote in a term, a log's term at an index. Shared by the
lemmas (raft_lemmas.py) and their witnesses (raft_lemma_witness.py)."""

from __future__ import annotations

from agree.models.raft_types import AEREQ, RVRESP, RaftState

__all__ = ["entries_in_flight", "granted", "term_at", "voted_for_in"]


def granted(s: RaftState) -> set[tuple[int, int, int]]:
    """(voter, candidate, term) of every granted vote response in flight."""
    return {(m.msource, m.mdest, m.mterm) for m in s.messages
            if m.mtype == RVRESP and m.mvote_granted}


def voted_for_in(s: RaftState, j: int, c: int, t: int) -> bool:
    return s.current_term[j] >= t and (s.current_term[j] != t or s.voted_for[j] == c)


def term_at(lg: tuple[object, ...], k: int) -> int:
    return lg[k - 1].term if k > 0 else 0  # type: ignore[attr-defined]


def entries_in_flight(s: RaftState) -> list[tuple[int, int, int, int]]:
    """(prev_index, prev_term, entry term, entry value) of every entry in flight."""
    return sorted({(m.mprev_log_index, m.mprev_log_term, m.mentries[0].term,
                    m.mentries[0].value)
                   for m in s.messages if m.mtype == AEREQ and m.mentries})
