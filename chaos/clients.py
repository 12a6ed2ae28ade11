"""The chaos clients: concurrent, retrying key-value clients of the simulated cluster.

Each client has at most one call outstanding. A call is proposed to the node
the client believes leads (following the leader hint on a refusal); it is
acknowledged when that node applies the client's own entry at the index it was
given, and retried (same client id and sequence number, so the state machine
applies it once) when the node crashes, another entry wins that index, or no
answer comes in time. A call that has not been acknowledged after
``op_timeout`` ticks is given up: its outcome is unknown, and the history says
so (the checker then lets it take effect or not). Reads are ReadIndex reads
(impl/raft/reads.py: the leader confirms it still leads, and the read is served once
the node has applied the read index), or go through the log (``reads="log"``).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agree.chaos.history import HistoryRecorder, Kind, Operation
from agree.impl.kv import decode_command, encode_command
from agree.impl.raft import Entry
from agree.impl.sim import Simulator

__all__ = ["Clients"]

#: How long one attempt waits for its entry to be applied, and a whole call (ticks).
ATTEMPT_TIMEOUT = 30
OP_TIMEOUT = 80
_WIRE = {"put": "put", "get": "get", "delete": "del", "cas": "cas"}


@dataclass
class _Call:
    op_id: int
    kind: Kind
    key: str
    value: str | None
    expected: str | None
    command: bytes
    started: int
    next_try: int
    attempt: tuple[int, int, int, Entry] | None = None
    attempt_started: int = 0
    read: tuple[int, int, int] | None = None  # a ReadIndex read: node, incarnation, id


class Clients:
    """``count`` workload clients plus one final reader per key."""

    def __init__(self, sim: Simulator, count: int, keys: int, rng: random.Random,
                 reads: str = "index") -> None:
        self.sim = sim
        self.reads = reads
        self.count = count
        self.keys = [f"k{i}" for i in range(keys)]
        self.rng = rng
        self.history = HistoryRecorder(sessions=True)
        slots = count + keys
        self.target = [rng.randrange(sim.n) for _ in range(slots)]
        self.seq = [0] * slots
        self.calls: list[_Call | None] = [None] * slots
        self.last_value: dict[str, str | None] = {}
        self.writes: dict[int, tuple[str, int]] = {}
        self.refused = 0
        self.attempts = 0

    # -- the workload ----------------------------------------------------------------
    def step(self, now: int, issue: bool) -> None:
        """One tick for every client, in id order."""
        for c in range(len(self.calls)):
            call = self.calls[c]
            if call is None:
                if issue and c < self.count and self.rng.random() < 0.3:
                    self.calls[c] = self._new_call(c, now)
                continue
            if now - call.started > OP_TIMEOUT:
                self.history.info(call.op_id)
                self.calls[c] = None
                continue
            if call.read is not None:
                self._check_read(c, call, now)
            elif call.attempt is not None:
                self._check_attempt(c, call, now)
            elif now >= call.next_try:
                self._try(c, call, now)

    def busy(self) -> bool:
        return any(call is not None for call in self.calls)

    def final_reads(self, now: int) -> None:
        """One read per key, by a reader that has done nothing else."""
        for i, key in enumerate(self.keys):
            self.calls[self.count + i] = self._call(self.count + i, "get", key, None, None, now)

    def _new_call(self, c: int, now: int) -> _Call:
        rng = self.rng
        key = rng.choice(self.keys)
        kind: Kind = rng.choices(("put", "get", "cas", "delete"), weights=(35, 35, 20, 10))[0]
        value = f"c{c}.{self.seq[c] + 1}" if kind in ("put", "cas") else None
        expected = None
        if kind == "cas":
            expected = self.last_value.get(key) if rng.random() < 0.7 else rng.choice(
                [None, *sorted(v for v in self.last_value.values() if v is not None)])
        return self._call(c, kind, key, value, expected, now)

    def _call(self, c: int, kind: Kind, key: str, value: str | None, expected: str | None,
              now: int) -> _Call:
        self.seq[c] += 1
        op_id = self.history.invoke(c, kind, key, float(now), value=value, expected=expected)
        command = encode_command(_WIRE[kind], key, value, expected, client=f"c{c}",
                                 seq=self.seq[c])
        if kind != "get":
            self.writes[op_id] = (f"c{c}", self.seq[c])
        return _Call(op_id, kind, key, value, expected, command, now, now)

    # -- one attempt -------------------------------------------------------------------
    def _redirect(self, c: int, hint: int | None, node: int) -> None:
        if hint is not None and hint != node:
            self.target[c] = hint
        else:
            self.target[c] = self.rng.randrange(self.sim.n)

    def _try(self, c: int, call: _Call, now: int) -> None:
        k = self.target[c]
        node = self.sim.nodes[k]
        core = node.core
        if core is None:
            self.refused += 1
            self._redirect(c, None, k)
            call.next_try = now + 2
            return
        term, incarnation = core.current_term, node.incarnation
        if call.kind == "get" and self.reads == "index":
            rid = self.sim.read(k)
            if rid is None:
                self.refused += 1
                self._redirect(c, core.leader_hint, k)
                call.next_try = now + 1
                return
            self.attempts += 1
            call.read = (k, incarnation, rid)
            call.attempt_started = now
            return
        index = self.sim.propose(k, call.command)
        if index is None:
            self.refused += 1
            self._redirect(c, core.leader_hint, k)
            call.next_try = now + 1
            return
        self.attempts += 1
        call.attempt = (k, incarnation, index, Entry(term, call.command))
        call.attempt_started = now

    def _check_attempt(self, c: int, call: _Call, now: int) -> None:
        assert call.attempt is not None
        k, incarnation, index, entry = call.attempt
        node = self.sim.nodes[k]
        if node.core is None or node.incarnation != incarnation:
            call.attempt = None  # the node died with our request: ask someone else
            self._redirect(c, None, k)
            call.next_try = now + 3
        elif node.kv.last_applied >= index:
            # node.applied holds, in index order, what it applied since it started, and
            # skips what snapshots it installed replaced
            pos = bisect.bisect_left(node.applied, index, key=lambda p: p[0])
            if pos == len(node.applied) or node.applied[pos][0] != index:
                call.attempt = None  # inside a snapshot it installed: ask again
                self._redirect(c, node.core.leader_hint, k)
                call.next_try = now + 1
                return
            applied = node.applied[pos][1]
            if applied == entry:
                self._complete(c, call, node.results[index], now)
            else:
                call.attempt = None  # another leader's entry won this index: retry
                self._redirect(c, node.core.leader_hint, k)
                call.next_try = now + 1
        elif now - call.attempt_started > ATTEMPT_TIMEOUT:
            call.attempt = None
            self._redirect(c, node.core.leader_hint, k)
            call.next_try = now + 1

    def _check_read(self, c: int, call: _Call, now: int) -> None:
        """A ReadIndex read: answered once confirmed and applied up to its index;
        retried elsewhere if refused, if the node dies, or after ATTEMPT_TIMEOUT."""
        assert call.read is not None
        k, incarnation, rid = call.read
        node = self.sim.nodes[k]
        if node.core is None or node.incarnation != incarnation:
            call.read = None
            self._redirect(c, None, k)
            call.next_try = now + 3
            return
        if rid in node.reads:
            index = node.reads[rid]
            if index is None:  # refused: it lost its leadership first
                call.read = None
                self._redirect(c, node.core.leader_hint, k)
                call.next_try = now + 1
                return
            if node.kv.last_applied >= index:
                del node.reads[rid]
                self._complete(c, call, {"ok": True, "value": node.kv.data.get(call.key)},
                               now)
                return
        if now - call.attempt_started > ATTEMPT_TIMEOUT:
            call.read = None
            self._redirect(c, node.core.leader_hint, k)
            call.next_try = now + 1

    def _complete(self, c: int, call: _Call, result: Mapping[str, Any], now: int) -> None:
        self.calls[c] = None
        if "error" in result:  # not an answer to this call: its outcome stays unknown
            self.history.info(call.op_id)
            return
        output: Any = None
        if call.kind == "get":
            output = result.get("value")
            self.last_value[call.key] = output
        elif call.kind == "delete":
            output = result.get("value") is not None
            self.last_value[call.key] = None
        elif call.kind == "cas":
            output = bool(result.get("ok"))
            self.last_value[call.key] = call.value if output else result.get("value")
        else:
            self.last_value[call.key] = call.value
        self.history.ok(call.op_id, float(now), output)

    # -- after the run ---------------------------------------------------------------------
    def lost_writes(self, committed: Mapping[int, Entry]) -> list[Operation]:
        """Acknowledged writes (put, delete, a cas that swapped) absent from the committed log."""
        present: set[tuple[str, int]] = set()
        for index in sorted(committed):
            cmd = decode_command(committed[index].value)
            if cmd is not None and isinstance(cmd.get("seq"), int):
                present.add((str(cmd.get("client")), int(cmd["seq"])))
        lost = []
        for op in self.history.operations():
            if op.indeterminate or op.id not in self.writes:
                continue
            if op.kind == "cas" and op.output is not True:
                continue
            if self.writes[op.id] not in present:
                lost.append(op)
        return lost
