"""A user's Raft variant (issue #20): HandleAppendEntriesRequest ignores prevLogTerm.

Written as a new user would: subclass the built-in Raft and change one handler. The
follower accepts a request whose previous entry it holds at the right *index*, whatever
that entry's term, so it can append a leader's entry after an entry the leader never
had: log matching breaks. The mistake needs three leaders in three terms (terms 2, 3
and 4, so max_term is 4 here; by our reading, with terms up to 3 a follower's entry at
an index is the term-3 leader's own there, or a term-2 entry its success-driven
nextIndex never points past, so the unchecked term never differs): s1 writes 2:v1
alone, s2 writes 3:v1 and copies it to s3, s3 wins term 4, writes 4:v1 and sends it
after 1/3 to s1, which keeps its 2:v1 underneath. Some forty steps from Init, beyond
breadth-first search at 3 servers:

    agree simulate examples/raft_ignore_prev_log_term.py --swarm --seed 1
"""

from typing import ClassVar

from agree.models.raft import Raft
from agree.models.raft_types import (
    AERESP,
    CANDIDATE,
    FOLLOWER,
    AppendEntriesRequest,
    AppendEntriesResponse,
    RaftState,
    put,
    with_message,
    without_message,
)
from agree.properties.raft import PROPERTIES as PROPERTIES


class RaftIgnoringPrevLogTerm(Raft):
    """Raft whose follower checks only that it has an entry at mprev_log_index."""

    name: ClassVar[str] = "raft-ignore-prev-log-term"

    def __init__(self, servers: int = 3, values: int = 1, max_term: int = 4,
                 max_log: int = 2, max_messages: int = 2, max_restarts: int = 0,
                 entries_per_append: int = 1, history: bool = False) -> None:
        super().__init__(servers, values, max_term, max_log, max_messages, max_restarts,
                         entries_per_append, history)

    def handle_append_entries_request(self, s: RaftState, m: AppendEntriesRequest,
                                      ) -> RaftState | None:
        i, j = m.mdest, m.msource
        term, role, lg = s.current_term[i], s.state[i], s.log[i]
        if m.mterm > term:
            return None
        prev = m.mprev_log_index
        log_ok = prev == 0 or 0 < prev <= len(lg)  # the bug: m.mprev_log_term not compared
        if m.mterm < term or (role == FOLLOWER and not log_ok):
            reply = AppendEntriesResponse(mtype=AERESP, mterm=term, msuccess=False,
                                          mmatch_index=0, msource=i, mdest=j)
            return self.step(s, messages=without_message(m, with_message(reply, s.messages)))
        if role == CANDIDATE:
            return self.step(s, state=put(s.state, i, FOLLOWER))
        if role != FOLLOWER:
            return None
        return self.accept_append_entries(s, m)
