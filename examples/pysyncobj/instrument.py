"""PySyncObj, instrumented from outside, writes agree event logs (no fork, no patch).

Two hooks: a transport subclass sees every message a node sends, and a SyncObj subclass
wraps the tick and the message handler. After each of them the node's Raft variables are
compared with the last batch's, and the raft.tla steps that explain the change are logged,
then one State line. PySyncObj's indices count a placeholder entry at index 1 (term 0), and
its terms start at 0: here index k is raft.tla's k-1 and term t is t+1. Its messages lack
fields raft.tla has (a reply's term, a denial), so every outgoing message carries the
raft.tla message it is, under "_agree", and the receiver logs that one.
"""

import base64
import os
import sys

from pysyncobj import SyncObj
from pysyncobj.transport import CONNECTION_STATE, TCPTransport

try:
    from agree.eventlog import EventLogWriter
except ImportError:  # the node's Python need not have agree: the kit's file is stdlib only
    sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    from eventlog import EventLogWriter

ROLES = ("Follower", "Candidate", "Leader")


class AgreeTransport(TCPTransport):
    """Tags every message the node really sends with its raft.tla form, and records it."""

    def send(self, node, message):
        conn = self._connections.get(node)
        if conn is None or conn.state != CONNECTION_STATE.CONNECTED:
            return False  # never sent: nothing to log
        rec = self._syncObj._agree
        spec = rec.spec_message(message, rec.ids[node.id])
        if spec is not None:
            message = dict(message, _agree=spec)
            rec.sent.append(spec)
        return super().send(node, message)


class Recorder:
    """One node's event log: raft.tla steps batched per tick and per received message."""

    def __init__(self, obj, me, addresses, path):
        self.obj, self.me, self.n = obj, me, len(addresses)
        self.ids = {a: k for k, a in enumerate(addresses)}
        self.log = EventLogWriter(path, me)
        self.sent = []  # the raft.tla messages sent since the last batch, in order
        self.votes = set()  # raft.tla's votesResponded = votesGranted (denials are never sent)
        self.next_index, self.match_index = [1] * self.n, [0] * self.n
        self.first = True  # the first batch of a process has the whole log
        self.last = self.snapshot()

    def get(self, name):
        return getattr(self.obj, "_SyncObj__" + name)

    def snapshot(self):
        journal = self.get("raftLog")
        log = tuple((e[2] + 1, e[0]) for e in (journal[k] for k in range(1, len(journal))))
        voted = self.get("votedForNodeId")
        return {"current_term": self.get("raftCurrentTerm") + 1,
                "role": ROLES[self.get("raftState")], "log": log,
                "voted_for": None if voted is None else self.ids[voted],
                "commit_index": self.get("raftCommitIndex") - 1}

    def spec_message(self, m, dest):
        """The raft.tla message a PySyncObj message is (None: not a Raft message)."""
        s, kind = self.snapshot(), m.get("type")
        base = {"source": self.me, "dest": dest}
        if kind == "request_vote":
            last = m["last_log_index"] - 1
            return dict(base, t="RequestVoteRequest", term=m["term"] + 1, last_log_index=last,
                        last_log_term=m["last_log_term"] + 1 if last else 0)
        if kind == "response_vote":
            return dict(base, t="RequestVoteResponse", term=m["term"] + 1, vote_granted=True)
        if kind == "append_entries" and "prevLogIdx" in m and "transmission" not in m:
            prev = m["prevLogIdx"] - 1
            entries = [[e[2] + 1, base64.b64encode(e[0]).decode()] for e in m["entries"]]
            return dict(base, t="AppendEntriesRequest", term=m["term"] + 1, prev_log_index=prev,
                        prev_log_term=m["prevLogTerm"] + 1 if prev else 0, entries=entries,
                        commit_index=min(m["commit_index"] - 1, prev + len(entries)))
        if kind == "next_node_idx":
            ok = bool(m["success"])
            hint = {} if ok else {"hint": m["next_node_idx"] - 1}
            return dict(base, t="AppendEntriesResponse", term=s["current_term"], success=ok,
                        match_index=m["next_node_idx"] - 2 if ok else 0, **hint)
        return None

    def flush(self, m=None):
        """Log the steps since the last batch (m: the message this batch received). Only
        the tick thread calls it."""
        now, pre, sent, self.sent = self.snapshot(), self.last, self.sent, []
        if now == pre and not sent and m is None:
            return
        if m is not None:
            self.receive(m, pre, now)
        elif now["current_term"] > pre["current_term"] and now["voted_for"] == self.me:
            log = pre["log"]
            self.log.timeout()
            self.log.vote_for_self(now["current_term"], log[-1][0] if log else 0, len(log))
            self.votes = {self.me}
        elif now["role"] == "Leader" and now["commit_index"] > pre["commit_index"]:
            self.log.advance_commit_index()
        self.leader_steps(sent, pre, now)
        self.state(now, pre["log"])

    def receive(self, m, pre, now):
        kind, term = m["t"], pre["current_term"]
        if m["term"] > term:
            self.log.receive("UpdateTerm", m)
            term = m["term"]
        if kind == "RequestVoteRequest":
            self.log.receive("HandleRequestVoteRequest", m)
        elif kind.endswith("Response") and m["term"] < term:
            self.log.receive("DropStaleResponse", m)
        elif kind == "RequestVoteResponse":
            self.log.receive("HandleRequestVoteResponse", m)
            self.votes.add(m["source"])
        elif kind == "AppendEntriesResponse" and now["role"] == "Leader":
            self.log.receive("HandleAppendEntriesResponse", m)
        elif kind == "AppendEntriesRequest":
            self.log.receive_append_entries(m, pre["current_term"], pre["role"],
                                            [e[0] for e in pre["log"]])

    def leader_steps(self, sent, pre, now):
        """BecomeLeader, RequestVote/AppendEntries sends and a leader's ClientRequests,
        each new entry before the first send that carries it."""
        if pre["role"] != "Leader" and now["role"] == "Leader":
            self.log.become_leader()
            self.next_index, self.match_index = [len(pre["log"]) + 1] * self.n, [0] * self.n
        new = len(pre["log"]) if now["role"] == "Leader" else len(now["log"])
        for x in [*sent, None]:
            upto = len(now["log"]) if x is None else x.get("prev_log_index", 0) + len(
                x.get("entries", ()))
            for entry in now["log"][new:upto]:
                self.log.client_request(entry[1])
            new = max(new, upto)
            if x is not None and x["t"] in ("RequestVoteRequest", "AppendEntriesRequest"):
                self.log.send(x)

    def state(self, now, old):
        self.last = now
        new, changed = now["log"], {}
        if self.first or old != new:  # the entries from the first that changed
            same = 0 if self.first else next((k for k, (a, b) in enumerate(
                zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
            changed, self.first = {"log_from": same + 1, "log_suffix": new[same:]}, False
        if now["role"] == "Leader":
            for node, k in self.get("raftNextIndex").items():
                self.next_index[self.ids[node.id]] = k - 1
            for node, k in self.get("raftMatchIndex").items():
                self.match_index[self.ids[node.id]] = max(k - 1, 0)
        self.log.state(now["current_term"], now["role"], now["voted_for"], now["commit_index"],
                       votes_responded=self.votes, votes_granted=self.votes,
                       next_index=self.next_index, match_index=self.match_index, **changed)


class AgreeSyncObj(SyncObj):
    """A SyncObj whose Raft steps are logged by a Recorder to ``event_log``. ``nodes``:
    every node's address (or TCPNode), ``me`` the index of this one."""

    def __init__(self, me, nodes, event_log, conf, consumers=None):
        conf.autoTick = False  # ticks by doTick(), once the Recorder exists
        super().__init__(nodes[me], [x for k, x in enumerate(nodes) if k != me], conf,
                         consumers=consumers, transportClass=AgreeTransport)
        self._agree = Recorder(self, me, [getattr(x, "id", x) for x in nodes], event_log)
        poll = self._poller.poll

        def log_then_poll(timeout):  # the tick's batch is logged before waiting for input
            self._agree.flush()
            return poll(timeout)
        self._poller.poll = log_then_poll

    def _onTick(self, timeToWait=0.0):
        super()._onTick(timeToWait)
        self._agree.flush()

    def _SyncObj__onMessageReceived(self, node, message):
        spec = message.pop("_agree", None) if isinstance(message, dict) else None
        self._agree.flush()
        SyncObj._SyncObj__onMessageReceived(self, node, message)
        if spec is not None:
            self._agree.flush(spec)
