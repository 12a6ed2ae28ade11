"""The client side of a KV server: requests answered, redirected or told to retry.

A :class:`ClientRequests` is mixed into :class:`~agree.impl.server.KVServer` (which
provides the attributes declared here): a leader proposes a put, del or cas as it
arrives and answers it as its entry is applied (or tells the client to retry after
the request timeout: a retry with the same client id and number is applied once); a get
is a ReadIndex read (impl/raft/reads.py) or, with ``reads="log"``, a command; membership
requests are impl/changes.py's; a follower redirects to the leader it knows of. Every
reply is one frame on the request's connection.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from agree.impl.changes import MEMBERSHIP_OPS, PendingChanges
from agree.impl.kv import OPS, KVStateMachine, encode_command
from agree.impl.raft import NotLeader, RaftCore, Role
from agree.impl.wire import CodecError, encode_frame

if TYPE_CHECKING:
    from agree.impl.server import ServerOptions

__all__ = ["ClientRequests", "Outcome"]


class Outcome(Protocol):
    """Where a request's result goes once known: a future a coroutine awaits, or an
    `_Answer` that replies on the spot."""

    def done(self) -> bool: ...

    def set_result(self, result: dict[str, Any], /) -> None: ...


class _Answer:
    """A write's reply, sent on its connection the moment its result is set (not from a
    future's callback one loop turn later); the request timeout's timer is cancelled
    then."""

    __slots__ = ("_done", "_req", "_writer", "timer")

    def __init__(self, writer: asyncio.Transport, req: dict[str, Any]) -> None:
        self._writer, self._req = writer, req
        self._done = False
        self.timer: asyncio.TimerHandle | None = None

    def done(self) -> bool:
        return self._done

    def set_result(self, result: dict[str, Any], /) -> None:
        if self._done:
            raise asyncio.InvalidStateError("the reply was sent already")
        self._done = True
        if self.timer is not None:
            self.timer.cancel()
        _reply(self._writer, self._req, result)


class ClientRequests:
    """Serving clients; the server provides the state and `_schedule_flush`."""

    id: int
    opts: ServerOptions
    core: RaftCore
    kv: KVStateMachine
    failure: str | None
    _waiters: dict[int, tuple[int, Outcome]]
    _proposals: list[tuple[bytes, Outcome]]
    _changes: PendingChanges
    _reads: dict[int, tuple[str, asyncio.Future[dict[str, Any]]]]
    _confirmed: list[tuple[int, str, asyncio.Future[dict[str, Any]]]]

    def _schedule_flush(self) -> None:
        raise NotImplementedError

    async def _serve_client(self, req: dict[str, Any], writer: asyncio.Transport) -> None:
        try:
            reply = await self._execute(req)
        except CodecError as exc:
            reply = {"ok": False, "error": str(exc)}
        _reply(writer, req, reply)

    def _serve_write(self, req: dict[str, Any], writer: asyncio.Transport) -> bool:
        """A leader's put, del or cas, proposed here and answered when its entry is
        applied (or times out): no task per request, and the answer is written in the
        apply's own loop turn (`_Answer`). False (nothing done) for anything else, and for a
        malformed request: `_serve_client` takes those."""
        if (req.get("op") not in _WRITES or not isinstance(req.get("key"), str)
                or self.failure is not None or self.core.role is not Role.LEADER):
            return False
        try:
            command = _command(req)
        except CodecError:
            return False
        answer = _Answer(writer, req)
        self._proposals.append((command, answer))  # proposed with this loop turn's others
        self._schedule_flush()
        answer.timer = asyncio.get_running_loop().call_later(self.opts.request_timeout,
                                                             self._time_out, answer)
        return True

    def _time_out(self, fut: Outcome) -> None:
        """A write not answered within the request timeout: told to retry (a retry with
        the same client id and number is applied once)."""
        if not fut.done():
            self._forget_waiter(fut)
            fut.set_result(self._retry("timed out waiting for commit"))

    def _forget_waiter(self, fut: Outcome) -> None:
        """Stop waiting on a write's entry for ``fut`` (it timed out)."""
        self._waiters = {k: w for k, w in self._waiters.items() if w[1] is not fut}

    async def _execute(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        if self.failure is not None:
            return {"ok": False, "retry": True, "error": self.failure, "leader": None}
        if op == "status":
            return self._status()
        if op in MEMBERSHIP_OPS:
            return await self._change(str(op), req.get("node"))
        key = req.get("key")
        if op not in OPS or not isinstance(key, str):
            raise CodecError(f"bad request: op must be one of {', '.join(OPS)} or status, "
                             "key a string")
        if op == "get" and req.get("stale") is True:
            return {"ok": True, "value": self.kv.data.get(key), "stale": True}
        if op == "get" and self.opts.reads == "index":
            return await self._read(key)
        command = _command(req)
        if self.core.role is not Role.LEADER:
            return self._redirect(self.core.leader_hint)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._proposals.append((command, fut))  # proposed with this loop turn's others
        self._schedule_flush()
        try:
            return await asyncio.wait_for(fut, self.opts.request_timeout)
        except TimeoutError:
            self._forget_waiter(fut)
            return self._retry("timed out waiting for commit")

    async def _change(self, op: str, node: object) -> dict[str, Any]:
        """Add or remove a voter (impl/changes.py); answered once its entry commits."""
        taken = self._changes.take(self.core, op, node)
        if isinstance(taken, dict):
            return taken
        self._schedule_flush()
        try:
            return await asyncio.wait_for(taken, self.opts.request_timeout)
        except TimeoutError:
            self._changes.forget(taken)
            return {"ok": False, "error": "timed out waiting for the configuration to "
                    "commit; see `agree kv status` for whether it did"}

    async def _read(self, key: str) -> dict[str, Any]:
        """A ReadIndex read of key: confirmed by a heartbeat round, served once applied."""
        try:
            rid = self.core.read_index()
        except NotLeader as exc:
            return self._redirect(exc.leader_hint)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._reads[rid] = (key, fut)
        self._schedule_flush()
        try:
            return await asyncio.wait_for(fut, self.opts.request_timeout)
        except TimeoutError:
            self._reads.pop(rid, None)
            return self._retry("timed out waiting for the read to be confirmed")

    # ---- replies ----
    def _status(self) -> dict[str, Any]:
        c = self.core
        return {"ok": True, "node": self.id, "role": c.role.value, "term": c.current_term,
                "commit_index": c.commit_index, "last_index": c.last_index,
                "snapshot_index": c.first_index - 1, "voters": sorted(c.voters),
                "last_applied": self.kv.last_applied, "leader": self._address_of(c.leader_hint)}

    def _address_of(self, node: int | None) -> str | None:
        if node is None:
            return None
        host, port = self.opts.peers[node]
        return f"{host}:{port}"

    def _redirect(self, hint: int | None) -> dict[str, Any]:
        return {"ok": False, "retry": True, "error": "not the leader",
                "leader": self._address_of(hint)}

    def _retry(self, why: str) -> dict[str, Any]:
        return {"ok": False, "retry": True, "error": why,
                "leader": self._address_of(self.core.leader_hint)}

    def _fail_waiters(self, why: str) -> None:
        futures = [fut for _, fut in self._waiters.values()]
        futures += [fut for _, fut in self._proposals]
        self._waiters, self._proposals = {}, []
        for fut in futures:
            if not fut.done():
                fut.set_result(self._retry(why))

    def _fail_reads(self, why: str) -> None:
        futures = [fut for _, fut in self._reads.values()]
        futures += [fut for _, _, fut in self._confirmed]
        self._reads, self._confirmed = {}, []
        for fut in futures:
            if not fut.done():
                fut.set_result(self._retry(why))


#: the operations that change the state machine (proposed by `_serve_write`)
_WRITES = frozenset(OPS) - {"get"}


def _command(req: dict[str, Any]) -> bytes:
    """The command to propose for a client's request (CodecError if malformed)."""
    seq = req.get("seq")
    return encode_command(str(req["op"]), str(req["key"]), _opt_str(req, "value"),
                          _opt_str(req, "expected"), str(req.get("client") or ""),
                          seq if isinstance(seq, int) and not isinstance(seq, bool) else 0)


def _reply(writer: asyncio.Transport, req: dict[str, Any], reply: dict[str, Any]) -> None:
    """Answer `req` on its connection (unless the client has gone)."""
    reply["t"] = "ClientReply"
    reply["id"] = req.get("id")
    if not writer.is_closing():
        writer.write(encode_frame(reply))


def _opt_str(req: dict[str, Any], name: str) -> str | None:
    value = req.get(name)
    if value is not None and not isinstance(value, str):
        raise CodecError(f"bad request: {name} must be a string or null")
    return value
