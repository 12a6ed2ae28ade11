"""The replicated key-value state machine: commands, deterministic apply, deduplication.

A command is a JSON object encoded as bytes (so it can sit in any log):
``{"op": "put"|"get"|"del"|"cas", "key": str, "value": str, "expected": str|null,
"client": str, "seq": int}``. Every replica applies the same commands in the same
order and so holds the same map. Writes carry a client id and a sequence number:
a retried write (same client, same seq) is answered from the remembered result
and not applied twice. A client has one request outstanding at a time.

`snapshot()` gives the whole state (map, sessions, last applied index) as bytes, and
`restore()` takes it back: what a Raft snapshot holds (impl/raft/snapshot.py).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["OPS", "KVStateMachine", "decode_command", "encode_command"]

OPS = ("put", "get", "del", "cas")


def encode_command(op: str, key: str, value: str | None = None, expected: str | None = None,
                   client: str = "", seq: int = 0) -> bytes:
    """The bytes to propose for one client operation."""
    if op not in OPS:
        raise ValueError(f"unknown operation {op!r}; expected one of {', '.join(OPS)}")
    cmd = {"op": op, "key": key, "value": value, "expected": expected,
           "client": client, "seq": seq}
    return json.dumps(cmd, sort_keys=True, separators=(",", ":")).encode()


def decode_command(data: bytes) -> dict[str, Any] | None:
    """The command in `data`, or None for bytes that are not a valid command."""
    try:
        cmd = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(cmd, dict) or cmd.get("op") not in OPS or not isinstance(cmd.get("key"), str):
        return None
    return cmd


class KVStateMachine:
    """A map from str to str, changed only by `apply`, in log order."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.last_applied = 0
        self._sessions: dict[str, tuple[int, dict[str, Any]]] = {}

    def apply(self, index: int, command: bytes) -> dict[str, Any]:
        """Apply the command at log `index`; returns its result (a JSON-able dict).

        Results: ``{"ok": true, "value": ...}`` (get/put/del: the previous or read
        value, null if absent), cas: ``{"ok": swapped, "value": current}``; entries
        that are not commands (e.g. from another application) are skipped.
        """
        self.last_applied = index
        cmd = decode_command(command)
        if cmd is None:
            return {"ok": False, "error": "not a command"}
        client, seq = str(cmd.get("client") or ""), cmd.get("seq")
        if client and isinstance(seq, int):
            seen = self._sessions.get(client)
            if seen is not None and seq <= seen[0]:
                if seq == seen[0]:
                    return seen[1]
                return {"ok": False, "error": f"stale request seq {seq} < {seen[0]}"}
        result = self._execute(cmd)
        if client and isinstance(seq, int):
            self._sessions[client] = (seq, result)
        return result

    def _execute(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op, key = cmd["op"], cmd["key"]
        old = self.data.get(key)
        if op == "get":
            return {"ok": True, "value": old}
        if op == "put":
            self.data[key] = str(cmd.get("value"))
            return {"ok": True, "value": old}
        if op == "del":
            self.data.pop(key, None)
            return {"ok": True, "value": old}
        # cas: swap only if the current value equals `expected` (None: key absent)
        if old == cmd.get("expected"):
            self.data[key] = str(cmd.get("value"))
            return {"ok": True, "value": cmd.get("value")}
        return {"ok": False, "value": old}

    def sessions(self) -> dict[str, int]:
        """Each client's last applied sequence number."""
        return {client: seq for client, (seq, _) in self._sessions.items()}

    def snapshot(self) -> bytes:
        """The state machine as bytes (canonical JSON): the map, the client sessions and
        the index applied last, so that `restore` gives back an equal machine."""
        state = {"applied": self.last_applied, "data": self.data,
                 "sessions": {c: [seq, result] for c, (seq, result) in self._sessions.items()}}
        return json.dumps(state, sort_keys=True, separators=(",", ":")).encode()

    def restore(self, blob: bytes) -> None:
        """Replace the state by a `snapshot()`'s; ValueError (one line) if it is not one."""
        try:
            state = json.loads(blob.decode())
        except (UnicodeDecodeError, ValueError):
            raise ValueError("the snapshot is not a KV state (not JSON)") from None
        if not isinstance(state, dict):
            raise ValueError("the snapshot is not a KV state (not an object)")
        applied, data, sessions = state.get("applied"), state.get("data"), state.get("sessions")
        if (not isinstance(applied, int) or isinstance(applied, bool) or applied < 0
                or not isinstance(data, dict) or not isinstance(sessions, dict)
                or not all(isinstance(v, str) for v in data.values())
                or not all(isinstance(v, list) and len(v) == 2 and isinstance(v[0], int)
                           and isinstance(v[1], dict) for v in sessions.values())):
            raise ValueError("the snapshot is not a KV state (wrong fields)")
        self.data = dict(data)
        self._sessions = {c: (v[0], v[1]) for c, v in sessions.items()}
        self.last_applied = applied
