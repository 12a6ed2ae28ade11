"""The KV server's membership requests: ``add`` / ``remove`` a voter, answered once committed.

A client asks any node (``{"op": "add"|"remove", "node": K}``); a follower redirects to
the leader, whose core takes the change (impl/raft/membership.py: a new voter is caught
up as a learner first). The reply comes once the configuration entry is committed in the
term it was appended in: ``{"ok": true, "index": I, "voters": [...]}``; a change the core
refused or gave up is a definite ``{"ok": false, "error": why}``, and one whose leader
lost its leadership a retry, as for writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from agree.impl.raft import MembershipError, NotLeader, RaftCore, Ready, decode_config

__all__ = ["MEMBERSHIP_OPS", "PendingChanges"]

#: the client operations handled here
MEMBERSHIP_OPS = ("add", "remove")

Reply = dict[str, Any]


class PendingChanges:
    """Membership changes a server took and has not answered yet."""

    def __init__(self, redirect: Callable[[int | None], Reply],
                 retry: Callable[[str], Reply]) -> None:
        self._redirect, self._retry = redirect, retry
        self._taken: dict[int, asyncio.Future[Reply]] = {}  # change id -> future
        self._appended: dict[int, tuple[int, asyncio.Future[Reply]]] = {}  # index -> term, fut

    def __bool__(self) -> bool:
        return bool(self._taken or self._appended)

    def take(self, core: RaftCore, op: str, node: object) -> Reply | asyncio.Future[Reply]:
        """Start the change: a reply now (redirect, refusal), or a future answered later."""
        if not isinstance(node, int) or isinstance(node, bool):
            return {"ok": False, "error": f"bad request: {op} needs a node id (an integer)"}
        try:
            cid = core.add_server(node) if op == "add" else core.remove_server(node)
        except NotLeader as exc:
            return self._redirect(exc.leader_hint)
        except MembershipError as exc:
            return {"ok": False, "error": str(exc)}
        fut: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._taken[cid] = fut
        return fut

    def answer(self, ready: Ready, term: int) -> None:
        """After a Ready is done: note where changes were appended (in `term`) or why they
        were given up, then answer those whose entry is committed."""
        for cid, index, why in ready.changes:
            fut = self._taken.pop(cid, None)
            if fut is None or fut.done():
                continue
            if index is None:
                fut.set_result({"ok": False, "error": why})
            else:
                self._appended[index] = (term, fut)
        for index, entry in ready.committed:
            waiter = self._appended.pop(index, None)
            if waiter is None or waiter[1].done():
                continue
            appended_in, fut = waiter
            voters = decode_config(entry.value)
            if entry.term != appended_in or voters is None:
                fut.set_result(self._retry("the change was lost to a new leader"))
            else:
                fut.set_result({"ok": True, "index": index, "voters": sorted(voters)})

    def forget(self, fut: asyncio.Future[Reply]) -> None:
        """A waiter timed out."""
        self._taken = {c: f for c, f in self._taken.items() if f is not fut}
        self._appended = {i: w for i, w in self._appended.items() if w[1] is not fut}

    def fail(self, why: str) -> None:
        """Leadership lost or the server stopping: every change not answered is retried."""
        futures = list(self._taken.values()) + [f for _, f in self._appended.values()]
        self._taken, self._appended = {}, {}
        for fut in futures:
            if not fut.done():
                fut.set_result(self._retry(why))
