"""Chaos for an outside implementation: its real processes behind agree's fault proxies.

``agree chaos --real --cluster-cmd TEMPLATE --client FILE:CLASS`` runs your servers
instead of ``agree serve``: three processes on 127.0.0.1, started (and restarted after a
SIGKILL) from TEMPLATE, each reaching every other through a TCP proxy of chaos/real.py,
so SIGKILL, SIGSTOP and partitions reach them on the same bounded, seeded schedule.
TEMPLATE's placeholders, for node ``{id}`` (0, 1, 2):

=============  ==========================================================================
``{id}``       the node's number
``{port}``     the port it listens on for its peers (on 127.0.0.1)
``{peers}``    how it reaches each node, comma-separated host:port in node order (its own
               entry is its own address, the others are the proxies' addresses)
``{addresses}`` every node's own address, the same on every node (for implementations
               that know their peers by address, as PySyncObj does)
``{api}``      the port it serves clients on (clients are not cut off by partitions)
``{data}``     a directory for its storage (shared by the nodes: name files by ``{id}``)
``{log}``      where it appends its event log (``agree validate`` judges them at the end)
=============  ==========================================================================

Clients speak your service's protocol through a :class:`ClientAdapter` subclass. Their
history (puts and gets of unique values) is checked for linearizability; the event logs,
if TEMPLATE names ``{log}``, are validated by the CLI.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import shlex
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agree.chaos.cluster import HOST, RealCluster
from agree.chaos.history import HistoryRecorder, Kind
from agree.chaos.real import RealOptions, RealOutcome, RealRun
from agree.impl.net import free_ports

__all__ = ["PLACEHOLDERS", "ClientAdapter", "OutsideOutcome", "load_client", "run_outside"]

PLACEHOLDERS = ("id", "port", "peers", "addresses", "api", "data", "log")


class ClientAdapter:
    """How a chaos client talks to your service; subclass it in your own file.

    One instance per client, made with every node's client address (``{api}``). A call
    that raises, or takes longer than the client's patience, has an unknown outcome
    (it may still take effect); a call that returns was acknowledged.
    """

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses

    async def put(self, key: str, value: str) -> None:
        """Write value under key; return once the service acknowledges it."""
        raise NotImplementedError

    async def get(self, key: str) -> str | None:
        """The value under key (None: none), as a linearizable read."""
        raise NotImplementedError

    async def leader(self) -> int | None:
        """The node that leads now, if the service says (faults then favour it)."""
        return None

    async def close(self) -> None:
        """Release connections."""


ClientFactory = Callable[[list[str]], ClientAdapter]


def load_client(spec: str) -> ClientFactory:
    """The ClientAdapter subclass named ``path/to/file.py:Class`` or ``module:Class``;
    ValueError saying what is wrong."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise ValueError(f"--client {spec!r}: expected FILE.py:CLASS or MODULE:CLASS")
    try:
        if where.endswith(".py"):
            mod_spec = importlib.util.spec_from_file_location(Path(where).stem, where)
            if mod_spec is None or mod_spec.loader is None:
                raise ImportError(f"cannot load {where}")
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except (ImportError, OSError, SyntaxError) as exc:
        raise ValueError(f"--client {spec!r}: {exc}") from None
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, ClientAdapter)):
        raise ValueError(f"--client {spec!r}: {name} is not a subclass of "
                         "agree.chaos.outside.ClientAdapter")
    return cls


def check_template(template: str) -> None:
    """ValueError if the template does not format (an unknown placeholder, a lone brace)."""
    try:
        template.format(**{k: "x" for k in PLACEHOLDERS})
        shlex.split(template)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"--cluster-cmd: bad template ({exc}); placeholders: "
                         + ", ".join("{" + k + "}" for k in PLACEHOLDERS)
                         + "; write a literal brace as {{ or }}") from None


@dataclass
class OutsideOutcome(RealOutcome):
    """A run's outcome, and the event logs its nodes wrote."""

    event_logs: list[str] = field(default_factory=list)


class OutsideCluster(RealCluster):
    """Your servers, started from the template, behind the per-link proxies."""

    def __init__(self, n: int, data: Path, template: str) -> None:
        super().__init__(n, data)
        self.template = template
        self.api = free_ports(n)
        self.client: ClientAdapter | None = None

    @property
    def addresses(self) -> list[str]:
        return [f"{HOST}:{p}" for p in self.api]

    def log(self, k: int) -> Path:
        return self.data / f"events{k}.jsonl"

    def command(self, k: int) -> list[str]:
        """The template filled in for node k."""
        own = ",".join(f"{HOST}:{p}" for p in self.ports)
        return shlex.split(self.template.format(
            id=k, port=self.ports[k], peers=self.peers(k), addresses=own, api=self.api[k],
            data=self.data, log=self.log(k)))

    async def leader(self) -> int | None:
        if self.client is None:
            return None
        try:
            return await asyncio.wait_for(self.client.leader(), 1.0)
        except Exception:  # the adapter's own failure only loses the hint
            return None


class _OutsideRun(RealRun):
    def __init__(self, opts: RealOptions, data: Path, template: str,
                 client: ClientFactory) -> None:
        super().__init__(opts, data)
        self.cluster: OutsideCluster = OutsideCluster(opts.nodes, data, template)
        self.history = HistoryRecorder()  # no sessions: a retry may apply twice
        self.client = client
        self.outside = OutsideOutcome(faults=self.out.faults)
        self.out = self.outside

    async def run(self) -> OutsideOutcome:
        self.cluster.client = self.client(self.cluster.addresses)
        try:
            await super().run()
        finally:
            await self.cluster.client.close()
        self.outside.event_logs = [str(self.cluster.log(k)) for k in range(self.opts.nodes)
                                   if self.cluster.log(k).exists()]
        return self.outside

    async def _client(self, c: int, end: float) -> None:
        rng = random.Random(f"real:{self.opts.seed}:client:{c}")
        client = self.client(self.cluster.addresses)
        keys = [f"k{i}" for i in range(self.opts.keys)]
        try:
            for n in range(1, 1 << 30):
                if time.monotonic() >= end:
                    break
                kind: Kind = rng.choice(("put", "get"))
                await self._do(client, c, kind, rng.choice(keys), f"c{c}.{n}")
        finally:
            await client.close()

    async def _do(self, client: ClientAdapter, c: int, kind: Kind, key: str,
                  value: str) -> bool:
        op = self.history.invoke(c, kind, key, self.now(),
                                 value=value if kind == "put" else None)
        try:
            if kind == "put":
                await asyncio.wait_for(client.put(key, value), 3.0)
                output = None
            else:
                output = await asyncio.wait_for(client.get(key), 3.0)
        except Exception:  # refused, unavailable, timed out: the outcome is unknown
            self.history.info(op)
            await asyncio.sleep(0.1)
            return False
        self.history.ok(op, self.now(), output)
        return True

    async def _settle(self) -> None:
        """After every fault is undone, each key must be read within 30 s."""
        client = self.client(self.cluster.addresses)
        deadline = time.monotonic() + 30
        try:
            for key in [f"k{i}" for i in range(self.opts.keys)]:
                while not await self._do(client, self.opts.clients, "get", key, ""):
                    if time.monotonic() > deadline:
                        self.out.violations.append(
                            f"liveness: no read of {key} succeeded within 30 s after every "
                            "fault was undone")
                        return
        finally:
            await client.close()

    def _check(self) -> None:
        self._check_history()


def run_outside(opts: RealOptions, template: str, client: ClientFactory) -> OutsideOutcome:
    """Chaos on your servers (blocking). The data directory is ``opts.data`` (kept, with
    the event logs) or a temporary one (removed: then the logs are gone too)."""
    if opts.data:
        data = Path(opts.data)
        data.mkdir(parents=True, exist_ok=True)
        return asyncio.run(_OutsideRun(opts, data, template, client).run())
    with tempfile.TemporaryDirectory(prefix="agree-chaos-") as tmp:
        return asyncio.run(_OutsideRun(opts, Path(tmp), template, client).run())
