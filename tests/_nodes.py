"""Real server processes on loopback for the integration tests: free ports, and a cluster of
`python -m agree.impl.server` nodes that is always torn down, whatever the test does."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

from agree.impl.client import KVClient
from agree.impl.net import free_ports


class NodeCluster:
    """``n`` server processes on 127.0.0.1 sharing one peer list.

    Node ``k`` keeps its database in ``data`` (or ``data/d{k}`` with ``own_dirs``), writes its
    event log to ``data/events{k}.jsonl`` when ``event_logs`` is set, and its stderr to
    ``data/err{k}.txt`` (or a pipe with ``pipe_stderr``, read through :meth:`stderr`).
    ``preexec`` maps a node to a function run in its child before exec (resource limits);
    ``args`` are more server options for every node.
    Every process is killed by :meth:`stop_all` or on leaving the ``with`` block."""

    def __init__(self, data: Path, n: int = 3, *, event_logs: bool = True,
                 own_dirs: bool = False, pipe_stderr: bool = False,
                 preexec: dict[int, Callable[[], None]] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.data = data
        self.addrs = [f"127.0.0.1:{p}" for p in free_ports(n)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self._event_logs = event_logs
        self._own_dirs = own_dirs
        self._pipe_stderr = pipe_stderr
        self._preexec = preexec or {}
        self._files: list[IO[bytes]] = []
        self._args = args

    def log(self, k: int) -> Path:
        """Node ``k``'s event log."""
        return self.data / f"events{k}.jsonl"

    def start(self, k: int) -> None:
        """Start (or restart) node ``k``."""
        data = self.data / f"d{k}" if self._own_dirs else self.data
        cmd = [sys.executable, "-m", "agree.impl.server", "--id", str(k),
               "--peers", ",".join(self.addrs), "--data", str(data), *self._args]
        if self._event_logs:
            cmd += ["--event-log", str(self.log(k))]
        if self._pipe_stderr:
            err: int | IO[bytes] = subprocess.PIPE
        else:
            err = open(self.data / f"err{k}.txt", "ab")  # noqa: SIM115
            self._files.append(err)
        self.procs[k] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                         preexec_fn=self._preexec.get(k))

    def start_all(self) -> None:
        for k in range(len(self.addrs)):
            self.start(k)

    def kill(self, k: int) -> None:
        """SIGKILL node ``k`` and reap it."""
        proc = self.procs.pop(k)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stderr(self, k: int) -> str:
        """Everything node ``k`` wrote to stderr (``pipe_stderr`` only; node ``k`` must
        have exited)."""
        pipe = self.procs[k].stderr
        assert pipe is not None, "start the cluster with pipe_stderr=True"
        return pipe.read().decode()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
        self.procs.clear()
        for f in self._files:
            f.close()
        self._files.clear()

    def __enter__(self) -> NodeCluster:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop_all()


async def leader_of(client: KVClient, addrs: list[str]) -> int | None:
    """The index of the node in ``addrs`` that says it is leader, if one answers so."""
    for k, a in enumerate(addrs):
        try:
            st = await client.status(a)
        except (OSError, TimeoutError):
            continue
        if st["role"] == "Leader":
            return k
    return None
