"""Write a Raft event log that `agree validate` checks against raft.tla (schema version 1).

Standard library only, and nothing of agree: copy this file into your project if you
would rather not depend on agree at run time. The contract is the JSON Schema
``agree/conformance/schemas/raft-event-log.v1.schema.json`` (docs: "Event-log schema").

How to log, in one sentence: after each piece of work a server does (one message
handled, one timer tick, one client request), write the raft.tla steps it took, in
order, then its variables with :meth:`EventLogWriter.state`; each such group is a
*batch*. Write a batch before sending the messages it produced, never mix the handling
of a message with the handling of a reply to something sent in the same batch, and let
a restarted process append to the same file. Servers are numbered from 0, terms and log
indexes from 1; values are bytes.

Usage: a leader of term 2 (elected with an empty log: its election is in the last
paragraph) takes a client's write, a follower appends it, the leader commits it::

    from agree.eventlog import EventLogWriter, append_entries, append_entries_response

    leader = EventLogWriter("events0.jsonl", node=0)
    leader.client_request(b"x=1")
    m = append_entries(term=2, prev_log_index=0, prev_log_term=0,
                       entries=[(2, b"x=1")], commit_index=0, source=0, dest=1)
    leader.send(m)                                   # AppendEntries(0, 1)
    leader.state(current_term=2, role="Leader", voted_for=0, commit_index=0,
                 next_index=[1, 1, 1], match_index=[0, 0, 0],
                 log_from=1, log_suffix=[(2, b"x=1")])
    # ...only now send m

    follower = EventLogWriter("events1.jsonl", node=1)
    follower.receive("NoConflictAppendEntriesRequest", m)   # one per entry appended
    follower.receive("AcceptAppendEntriesRequest", m)       # done: it replies
    follower.state(current_term=2, role="Follower", voted_for=0, commit_index=0,
                   log_from=1, log_suffix=[(2, b"x=1")])
    # ...then send append_entries_response(2, True, 1, source=1, dest=0)

    leader.receive("HandleAppendEntriesResponse",
                   append_entries_response(2, True, 1, source=1, dest=0))
    leader.advance_commit_index()
    leader.state(current_term=2, role="Leader", voted_for=0, commit_index=1,
                 next_index=[1, 2, 1], match_index=[0, 1, 0])

A candidate's timeout is :meth:`timeout` then :meth:`vote_for_self` (raft.tla's
candidate votes for itself through its own RequestVote), then one :meth:`send` per
peer. Requests and replies a server ignores or denies without replying are simply
not logged.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Sequence
from typing import IO, Any

__all__ = [
    "SCHEMA_VERSION",
    "EventLogWriter",
    "append_entries",
    "append_entries_response",
    "request_vote",
    "request_vote_response",
]

#: The version of raft-event-log.vN.schema.json these lines follow.
SCHEMA_VERSION = 1

#: The handler events of a received message (raft.tla's Receive branches; the five
#: AppendEntries-request names are steps of HandleAppendEntriesRequest: a reject, a
#: candidate returning to follower, one conflicting entry removed, one entry appended,
#: and done-and-reply).
HANDLERS = frozenset({
    "UpdateTerm", "HandleRequestVoteRequest", "HandleRequestVoteResponse",
    "DropStaleResponse", "HandleAppendEntriesRequest", "RejectAppendEntriesRequest",
    "ReturnToFollowerState", "ConflictAppendEntriesRequest",
    "NoConflictAppendEntriesRequest", "AcceptAppendEntriesRequest",
    "HandleAppendEntriesResponse"})

#: The membership events (raft-reconfig's AddServer / RemoveServer, and the catch-up of a
#: learner, which is no spec step).
MEMBERSHIP = frozenset({"AddServer", "RemoveServer", "AddLearner", "CaughtUp",
                        "GiveUpLearner"})

Message = dict[str, Any]
EntryLike = tuple[int, bytes]


def _b64(value: bytes) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _entries(entries: Iterable[EntryLike]) -> list[list[Any]]:
    return [[int(term), _b64(value)] for term, value in entries]


def request_vote(term: int, last_log_term: int, last_log_index: int, source: int,
                 dest: int) -> Message:
    """A RequestVoteRequest as the log writes it."""
    return {"t": "RequestVoteRequest", "term": term, "last_log_term": last_log_term,
            "last_log_index": last_log_index, "source": source, "dest": dest}


def request_vote_response(term: int | None, vote_granted: bool, source: int,
                          dest: int) -> Message:
    """A RequestVoteResponse (term None: the replies_without_term deviation)."""
    m: Message = {"t": "RequestVoteResponse", "vote_granted": bool(vote_granted),
                  "source": source, "dest": dest}
    if term is not None:
        m["term"] = term
    return m


def append_entries(term: int, prev_log_index: int, prev_log_term: int,
                   entries: Iterable[EntryLike], commit_index: int, source: int,
                   dest: int) -> Message:
    """An AppendEntriesRequest; entries are (term, value bytes) pairs (none: a heartbeat)."""
    return {"t": "AppendEntriesRequest", "term": term, "prev_log_index": prev_log_index,
            "prev_log_term": prev_log_term, "entries": _entries(entries),
            "commit_index": commit_index, "source": source, "dest": dest}


def append_entries_response(term: int | None, success: bool, match_index: int, source: int,
                            dest: int, hint: int | None = None) -> Message:
    """An AppendEntriesResponse: match_index on success (0 on failure); ``hint``, on a
    failure, the next_index the leader takes from it (the fast_backup deviation: the
    follower's suggestion, as the leader applies it)."""
    m: Message = {"t": "AppendEntriesResponse", "success": bool(success),
                  "match_index": match_index, "source": source, "dest": dest}
    if term is not None:
        m["term"] = term
    if hint is not None:
        m["hint"] = hint
    return m


class EventLogWriter:
    """One server's event log: a JSON-lines file (appended to) or an open text stream.

    ``fsync=True`` syncs the file after every batch (a power loss then loses no batch
    the server acted on; a killed process loses nothing either way, as each batch is
    flushed). Use as a context manager or call :meth:`close`.
    """

    def __init__(self, target: str | os.PathLike[str] | IO[str], node: int,
                 fsync: bool = False) -> None:
        if isinstance(target, (str, os.PathLike)):
            self._file: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._file, self._owned = target, False
        self.node = int(node)
        self.fsync = fsync
        self._pending: list[str] = []

    # -- events ------------------------------------------------------------------

    def event(self, action: str, **args: Any) -> None:
        """Any event of the schema, its arguments as given (the calls below build them)."""
        self._pending.append(json.dumps({"node": self.node, "action": action, "args": args}))

    def initial_configuration(self, voters: Iterable[int], servers: int | None = None,
                              ) -> None:
        """The voters this server starts with, before any configuration entry (optional;
        written at once, when the log is opened: again after a restart). With fewer
        voters than servers, or with :meth:`membership` events in the logs, `agree
        validate` holds the run to raft-reconfig (membership changes)."""
        args: dict[str, Any] = {"voters": sorted({int(v) for v in voters})}
        if servers is not None:
            args["servers"] = int(servers)
        self._file.write(json.dumps({"node": self.node, "action": "InitialConfiguration",
                                     "args": args}) + "\n")
        self._file.flush()

    def membership(self, action: str, j: int) -> None:
        """A membership change by this leader about server j: ``AddServer`` /
        ``RemoveServer`` (it appended the configuration entry that adds / removes j: the
        value of a configuration entry is impl/raft/membership.py's encode_config) or
        ``AddLearner`` / ``CaughtUp`` / ``GiveUpLearner`` (its catch-up of j: no spec step)."""
        if action not in MEMBERSHIP:
            raise ValueError(f"unknown membership event {action!r} (one of {sorted(MEMBERSHIP)})")
        self.event(action, i=self.node, j=int(j))

    def restart(self) -> None:
        """Restart(i): the server came back from its storage (optional: `agree validate`
        also infers a restart where a batch only fits one)."""
        self.event("Restart", i=self.node)

    def check_quorum_step_down(self) -> None:
        """A leader that has not heard from a quorum for an election timeout becomes a
        follower in its term, keeping its commit index (CheckQuorum; the
        check_quorum_step_down deviation)."""
        self.event("CheckQuorumStepDown", i=self.node)

    def pre_vote_term(self, j: int, term: int) -> None:
        """A refusal of this server's pre-vote by server j, of a higher term, made it a
        follower in that term with no vote (PreVote as etcd does it; the pre_vote_term
        deviation)."""
        self.event("PreVoteTerm", i=self.node, j=int(j), term=int(term))

    def timeout(self) -> None:
        """Timeout(i): the election timer fired; i is a candidate in the next term."""
        self.event("Timeout", i=self.node)

    def vote_for_self(self, term: int, last_log_term: int, last_log_index: int) -> None:
        """The candidate's vote for itself, spelled as raft.tla does: RequestVote(i, i),
        its handling, and the handling of the reply (after :meth:`timeout`)."""
        i = self.node
        self.event("RequestVote", i=i, j=i)
        self.receive("HandleRequestVoteRequest",
                     request_vote(term, last_log_term, last_log_index, i, i))
        self.receive("HandleRequestVoteResponse", request_vote_response(term, True, i, i))

    def become_leader(self) -> None:
        """BecomeLeader(i): the candidate has votes from a quorum."""
        self.event("BecomeLeader", i=self.node)

    def client_request(self, value: bytes) -> None:
        """ClientRequest(i, v): the leader appended a client's value to its log."""
        self.event("ClientRequest", i=self.node, v=_b64(value))

    def advance_commit_index(self) -> None:
        """AdvanceCommitIndex(i): the leader moved its commit index."""
        self.event("AdvanceCommitIndex", i=self.node)

    def send(self, message: Message) -> None:
        """RequestVote(i, j) or AppendEntries(i, j): a request sent, the message with it.
        (Replies are not sent by an event of their own: they are part of the handling.)"""
        kind = message.get("t")
        action = {"RequestVoteRequest": "RequestVote",
                  "AppendEntriesRequest": "AppendEntries"}.get(str(kind))
        if action is None:
            raise ValueError(f"send() takes a request, not {kind!r}: a reply is part of "
                             "the receive() of the message it answers")
        self.event(action, i=self.node, j=message["dest"], m=message)

    def receive(self, action: str, message: Message) -> None:
        """A step on a received message: ``action`` is one of :data:`HANDLERS` (log an
        UpdateTerm first when the message's term is newer than the server's)."""
        if action not in HANDLERS:
            raise ValueError(f"unknown handler {action!r} (one of {sorted(HANDLERS)})")
        self.event(action, i=self.node, j=message["source"], m=message)

    def receive_append_entries(self, message: Message, current_term: int, role: str,
                               log_terms: Sequence[int]) -> bool:
        """Every raft.tla step of handling AppendEntriesRequest ``message``, by a server in
        ``current_term`` and ``role`` whose log held entries of ``log_terms`` when it
        arrived: a reject; or ReturnToFollowerState (a candidate of that term), one
        Conflict step per last entry removed and one NoConflict step per entry appended,
        as raft.tla takes them one at a time, then Accept. Log the UpdateTerm of a newer
        message first, as for any message. True when accepted (the reply is a success)."""
        if message["term"] > current_term:  # after its UpdateTerm: a follower of that term
            current_term, role = message["term"], "Follower"
        terms, prev = list(log_terms), message["prev_log_index"]
        if message["term"] < current_term or not (prev == 0 or (
                prev <= len(terms) and terms[prev - 1] == message["prev_log_term"])):
            self.receive("RejectAppendEntriesRequest", message)
            return False
        if role == "Candidate":
            self.receive("ReturnToFollowerState", message)
        entries = [entry[0] for entry in message["entries"]]
        k = 0
        while k < len(entries):
            if len(terms) <= prev + k:
                terms.append(entries[k])
                self.receive("NoConflictAppendEntriesRequest", message)
            elif terms[prev + k] != entries[k]:
                terms.pop()  # raft.tla removes the last entry, then looks again
                self.receive("ConflictAppendEntriesRequest", message)
                continue
            k += 1
        self.receive("AcceptAppendEntriesRequest", message)
        return True

    def state(self, current_term: int, role: str, voted_for: int | None, commit_index: int,
              *, votes_responded: Iterable[int] | None = None,
              votes_granted: Iterable[int] | None = None,
              next_index: Sequence[int] | None = None,
              match_index: Sequence[int] | None = None,
              log_from: int | None = None,
              log_suffix: Iterable[EntryLike] | None = None) -> None:
        """End the batch: the server's variables after it, and the events above written.

        ``role`` is "Follower", "Candidate" or "Leader". If the batch changed the log,
        ``log_from`` is the first index it changed and ``log_suffix`` the entries from
        there to the end (empty if it only removed entries). Variables the server does
        not keep may be left out (None): they are then not compared."""
        if role not in ("Follower", "Candidate", "Leader"):
            raise ValueError(f"role must be Follower, Candidate or Leader, not {role!r}")
        if (log_from is None) != (log_suffix is None):
            raise ValueError("log_from and log_suffix go together")
        args: dict[str, Any] = {"current_term": current_term, "role": role,
                                "voted_for": voted_for, "commit_index": commit_index}
        for name, value in (("votes_responded", votes_responded),
                            ("votes_granted", votes_granted)):
            if value is not None:
                args[name] = sorted(value)
        for name, seq in (("next_index", next_index), ("match_index", match_index)):
            if seq is not None:
                args[name] = list(seq)
        if log_from is not None and log_suffix is not None:
            args["log_from"] = log_from
            args["log_suffix"] = _entries(log_suffix)
        self.event("State", **args)
        self._file.write("\n".join(self._pending) + "\n")
        self._pending = []
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file (events after the last state() are not written: an
        unfinished batch)."""
        if self._owned:
            self._file.close()

    def __enter__(self) -> EventLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
