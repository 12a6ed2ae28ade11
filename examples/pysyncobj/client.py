"""The chaos client adapter for examples/pysyncobj/node.py's JSON-lines API.

    agree chaos --real --cluster-cmd "..." --client examples/pysyncobj/client.py:Client

Each call asks the node it last saw leading (any node, the first time); a node that is
not the leader answers with an error, and the next call asks another.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agree.chaos.outside import ClientAdapter


class Client(ClientAdapter):
    """put/get through the Raft log of whichever node leads."""

    def __init__(self, addresses: list[str]) -> None:
        super().__init__(addresses)
        self.target = 0

    async def call(self, k: int, **req: Any) -> dict[str, Any]:
        host, port = self.addresses[k].rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write((json.dumps(req) + "\n").encode())
            return dict(json.loads(await reader.readline()))
        finally:
            writer.close()

    async def request(self, **req: Any) -> Any:
        try:
            reply = await self.call(self.target, **req)
        except (OSError, ValueError):
            reply = {"error": "unreachable"}
        if "error" in reply:
            self.target = (self.target + 1) % len(self.addresses)
            raise RuntimeError(f"node {self.target}: {reply['error']}")
        return reply.get("value")

    async def put(self, key: str, value: str) -> None:
        await self.request(op="put", key=key, value=value)

    async def get(self, key: str) -> str | None:
        return await self.request(op="get", key=key)  # type: ignore[no-any-return]

    async def leader(self) -> int | None:
        for k in range(len(self.addresses)):
            try:
                st = await self.call(k, op="status")
            except (OSError, ValueError):
                continue
            if st.get("role") == "Leader":
                self.target = k
                return k
        return None
