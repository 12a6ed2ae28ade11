"""The server's event loop (``--event-loop``): uvloop when installed and asked for (or by
default), asyncio's own on request or without uvloop, a usage error when uvloop is asked
for but missing; a node on either loop serves puts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from _nodes import free_ports

from agree.impl.client import KVClient
from agree.impl.node import NodeUsageError, event_loop_factory

try:
    import uvloop
except ImportError:  # the optional extra agree[fast] is not installed
    uvloop = None


def test_asyncio_on_request() -> None:
    assert event_loop_factory("asyncio") is None


def test_without_uvloop_auto_falls_back_and_uvloop_is_a_usage_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    assert event_loop_factory("auto") is None
    with pytest.raises(NodeUsageError, match="uvloop is not installed"):
        event_loop_factory("uvloop")


@pytest.mark.skipif(uvloop is None, reason="uvloop not installed (agree[fast])")
def test_uvloop_when_installed() -> None:
    for choice in ("auto", "uvloop"):
        factory = event_loop_factory(choice)
        assert factory is not None
        loop = factory()
        try:
            assert isinstance(loop, uvloop.Loop)
        finally:
            loop.close()


@pytest.mark.integration
@pytest.mark.parametrize("choice", ["asyncio", "uvloop"])
def test_a_node_serves_puts_on_either_loop(tmp_path: Path, choice: str) -> None:
    if choice == "uvloop" and uvloop is None:
        pytest.skip("uvloop not installed (agree[fast])")
    [port] = free_ports(1)
    proc = subprocess.Popen([sys.executable, "-m", "agree.impl.server", "--id", "0",
                             "--peers", f"127.0.0.1:{port}", "--data", str(tmp_path),
                             "--event-loop", choice], stdout=subprocess.DEVNULL)
    try:
        async def puts() -> list[bool]:
            client = KVClient([f"127.0.0.1:{port}"], timeout=20)
            try:
                return [(await client.put(f"k{n}", "v"))["ok"] for n in range(20)]
            finally:
                await client.close()

        assert all(asyncio.run(puts()))
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
