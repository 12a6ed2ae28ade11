"""A user's Raft variant (issue #20): HandleAppendEntriesRequest ignores prevLogTerm.

Written as a new user would: subclass the built-in Raft and change one handler. The
follower accepts a request whose previous entry it holds at the right *index*, whatever
that entry's term, so it can append a leader's entry after an entry the leader never
had: log matching breaks. The mistake needs a deep run (two leaders in two terms,
entries in both, then the append), beyond breadth-first search at 3 servers:

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

    def __init__(self, servers: int = 3, values: int = 1, max_term: int = 3,
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
