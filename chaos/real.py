"""Chaos with real processes: three `agree serve` nodes on 127.0.0.1, killed, frozen, cut off.

Every node talks to every other through a TCP proxy run by this process (one
per direction, chaos/cluster.py), so a partition is the proxy refusing and cutting connections.
Faults, drawn from a seed and bounded in number and time: SIGKILL of a node
(the leader more often) and a restart from its SQLite file, SIGSTOP and
SIGCONT, isolating one node, delaying its links, and cutting its connections
once (what they carry is lost). Concurrent clients (the implementation's own
KVClient, retrying with the same client id and sequence number) record a
history with wall-clock times. At the end every fault is undone, the cluster
must converge, every key is read, the nodes are stopped and their databases
read back; the history is checked for linearizability and every acknowledged
write must be in every node's log, or in its snapshot (which keeps each client's
last sequence number: a client has one request outstanding, so every write of
its up to that number was applied). With ``snapshot_every`` the nodes snapshot
and compact that often, so SIGKILLs land during snapshots and a node cut off
catches up by InstallSnapshot. With ``spares`` the cluster has that many more servers,
not voting at first, and every other fault is a membership change (a voter added or
removed, one at a time) with the leader SIGKILLed while the change is in flight; the
checks then read the voters of the final configuration. Only loopback addresses are used.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agree.chaos.cluster import RealCluster
from agree.chaos.history import HistoryRecorder, Kind, Operation
from agree.chaos.linearizability import LinearizabilityResult, check_history
from agree.impl.client import KVClient
from agree.impl.kv import KVStateMachine, decode_command
from agree.impl.storage import SQLiteStorage, StorageError

__all__ = ["RealOptions", "RealOutcome", "RealRun", "run_real"]

_WIRE = {"put": "put", "get": "get", "delete": "del", "cas": "cas"}


@dataclass(frozen=True)
class RealOptions:
    """How much chaos: fault phase length (s), most faults, clients, keys, seed."""

    duration: float = 20.0
    faults: int = 12
    clients: int = 3
    keys: int = 2
    seed: int = 0
    nodes: int = 3
    stale_reads: bool = False
    data: str | None = None
    snapshot_every: int | None = None
    """the servers' --snapshot-every (None: their default)"""
    spares: int = 0
    """servers beyond ``nodes``, not voting at first: membership changes are faults too"""


@dataclass
class RealOutcome:
    """What a real-process chaos run did and found."""

    operations: list[Operation] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    fault_log: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lost_writes: list[Operation] = field(default_factory=list)
    linearizability: LinearizabilityResult | None = None
    #: each node's snapshot index when the cluster converged (0: none taken)
    snapshot_index: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.violations)

    @property
    def acknowledged(self) -> int:
        return sum(1 for o in self.operations if not o.indeterminate)


class RealRun:
    """One real-process chaos run: the cluster, the client workload and its schedule of
    faults, and the history they leave. chaos/outside.py subclasses it for another
    implementation's processes."""

    def __init__(self, opts: RealOptions, data: Path) -> None:
        self.opts = opts
        self.rng = random.Random(f"real:{opts.seed}")
        self.universe = opts.nodes + opts.spares
        voters = ("--voters", ",".join(str(k) for k in range(opts.nodes))) if opts.spares \
            else ()
        self.cluster = RealCluster(self.universe, data, voters,
                                   snapshot_every=opts.snapshot_every)
        self.final_voters: list[int] = list(range(self.universe))
        self.history = HistoryRecorder(sessions=True)
        self.writes: dict[int, tuple[str, int]] = {}
        self.out = RealOutcome(faults={"kills": 0, "stops": 0, "partitions": 0, "delays": 0,
                                       "drops": 0})
        if opts.spares:
            self.out.faults.update({"membership changes": 0, "changes committed": 0})
        self.t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def run(self) -> RealOutcome:
        await self.cluster.start()
        try:
            end = time.monotonic() + self.opts.duration
            tasks = [asyncio.create_task(self._client(c, end)) for c in range(self.opts.clients)]
            await self._faults(end)
            await asyncio.gather(*tasks)
            await self._settle()
        finally:
            await self.cluster.close()
        self._check()
        self.out.seconds = self.now()
        return self.out

    # -- faults ------------------------------------------------------------------------
    async def _faults(self, end: float) -> None:
        rng, cluster = self.rng, self.cluster
        kinds = ["kill", "stop", "partition", "delay", "drop"]
        await asyncio.sleep(1.0)
        for count in range(self.opts.faults):
            if time.monotonic() >= end - 1:
                break
            kind = kinds[count] if count < 3 else rng.choice(kinds)
            if self.opts.spares and count % 2 == 0:
                await self._membership_change()
                await asyncio.sleep(rng.uniform(0.3, 1.0))
                continue
            leader = await cluster.leader()
            k = leader if leader is not None and rng.random() < 0.6 else rng.randrange(
                self.opts.nodes)
            hold = rng.uniform(0.3, 1.5)
            who = f"node {k}{' (leader)' if k == leader else ''}"
            self.out.fault_log.append(f"t={self.now():.2f}s: {kind} {who} for {hold:.2f}s")
            if kind == "kill":
                cluster.kill(k)
                self.out.faults["kills"] += 1
                await asyncio.sleep(hold)
                cluster.start_node(k)
            elif kind == "stop":
                cluster.freeze(k, True)
                self.out.faults["stops"] += 1
                await asyncio.sleep(hold)
                cluster.freeze(k, False)
            elif kind == "partition":
                cluster.isolate(k, True)
                self.out.faults["partitions"] += 1
                await asyncio.sleep(hold)
                cluster.isolate(k, False)
            elif kind == "delay":
                delay = rng.uniform(0.05, 0.3)
                self.out.fault_log[-1] += f", {delay * 1000:.0f} ms on each link"
                cluster.slow(k, delay)
                self.out.faults["delays"] += 1
                await asyncio.sleep(hold)
                cluster.slow(k, 0.0)
            else:
                self.out.fault_log[-1] = f"t={self.now():.2f}s: drop {who}'s connections"
                cluster.drop(k)
                self.out.faults["drops"] += 1
            await asyncio.sleep(rng.uniform(0.3, 1.0))
        while time.monotonic() < end:
            await asyncio.sleep(0.05)

    async def _membership_change(self) -> None:
        """Add a non-voter or remove a voter (keeping three), and SIGKILL the leader while
        the change is in flight (after 0 to 0.3 s); restart it after a while."""
        rng, cluster = self.rng, self.cluster
        voters = await cluster.voters()
        spares = [k for k in range(self.universe) if k not in voters]
        add = bool(spares) and (len(voters) <= 3 or rng.random() < 0.5)
        target = rng.choice(spares) if add else rng.choice(voters)
        what = f"{'add' if add else 'remove'} node {target}"
        client = KVClient(cluster.addresses, client_id="admin", timeout=4.0)
        change = asyncio.create_task(client.add_server(target) if add
                                     else client.remove_server(target))
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        leader = await cluster.leader()
        self.out.faults["membership changes"] += 1
        hold = rng.uniform(0.3, 1.5)
        if leader is not None:
            cluster.kill(leader)
            self.out.faults["kills"] += 1
            what += f", SIGKILL leader node {leader} during it for {hold:.2f}s"
        self.out.fault_log.append(f"t={self.now():.2f}s: {what}")
        try:
            reply = await change
        except Exception as exc:  # unavailable: the change's outcome is unknown
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            await client.close()
        if reply.get("ok"):
            self.out.faults["changes committed"] += 1
        self.out.fault_log[-1] += (f"; voters {reply.get('voters')}" if reply.get("ok")
                                   else f"; not done ({reply.get('error')})")
        if leader is not None:
            await asyncio.sleep(max(hold - 0.3, 0.0))
            cluster.start_node(leader)

    # -- clients ------------------------------------------------------------------------
    async def _client(self, c: int, end: float) -> None:
        rng = random.Random(f"real:{self.opts.seed}:client:{c}")
        client = KVClient(self.cluster.addresses, client_id=f"c{c}", timeout=3.0,
                          attempt_timeout=0.5)
        keys = [f"k{i}" for i in range(self.opts.keys)]
        last: dict[str, str | None] = {}
        try:
            while time.monotonic() < end:
                key = rng.choice(keys)
                kind: Kind = rng.choices(("put", "get", "cas", "delete"),
                                         weights=(35, 35, 20, 10))[0]
                value = f"c{c}.{client._seq + 1}" if kind in ("put", "cas") else None
                expected = last.get(key) if kind == "cas" else None
                await self._call(client, c, kind, key, value, expected, last, rng)
        finally:
            await client.close()

    async def _call(self, client: KVClient, c: int, kind: Kind, key: str, value: str | None,
                    expected: str | None, last: dict[str, str | None],
                    rng: random.Random) -> None:
        op = self.history.invoke(c, kind, key, self.now(), value=value, expected=expected)
        if kind != "get":
            self.writes[op] = (client.client_id, client._seq + 1)
        try:
            if kind == "get" and self.opts.stale_reads:
                reader = KVClient([rng.choice(self.cluster.addresses)], timeout=1,
                                  attempt_timeout=0.5)
                try:
                    reply = await reader.get(key, stale=True)
                finally:
                    await reader.close()
            else:
                reply = await client.request(_WIRE[kind], key, value, expected)
        except Exception:  # unavailable, or a connection torn down: the outcome is unknown
            self.history.info(op)
            return
        if "error" in reply:
            self.history.info(op)
            return
        output: Any = None
        if kind == "get":
            output = reply.get("value")
        elif kind == "delete":
            output = reply.get("value") is not None
        elif kind == "cas":
            output = bool(reply.get("ok"))
        last[key] = value if kind == "put" or output is True else reply.get("value")
        self.history.ok(op, self.now(), output)

    # -- the end -------------------------------------------------------------------------
    async def _settle(self) -> None:
        deadline = time.monotonic() + 30
        while not await self.cluster.converged():
            if time.monotonic() > deadline:
                views = []
                for k in range(self.universe):
                    st = await self.cluster.status(k)
                    views.append(f"node {k}: " + ("no answer" if st is None else
                                 f"{st.get('role')} term {st.get('term')} commit "
                                 f"{st.get('commit_index')} applied {st.get('last_applied')}"))
                self.out.violations.append("liveness: the cluster did not converge within 30 s "
                                           "after every fault was undone (" + "; ".join(views)
                                           + ")")
                return
            await asyncio.sleep(0.2)
        reader = KVClient(self.cluster.addresses, client_id="final", timeout=10)
        try:
            for key in [f"k{i}" for i in range(self.opts.keys)]:
                await self._call(reader, self.opts.clients, "get", key, None, None, {},
                                 self.rng)
        finally:
            await reader.close()
        # the final reads committed new entries: let every node apply them too
        deadline = time.monotonic() + 10
        while not await self.cluster.converged() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        self.final_voters = await self.cluster.voters()
        for k in range(self.universe):
            st = await self.cluster.status(k)
            self.out.snapshot_index.append(int((st or {}).get("snapshot_index") or 0))

    def _check_history(self) -> None:
        """Every key's history linearizable (the operations recorded so far)."""
        out = self.out
        out.operations = self.history.operations()
        lin = check_history(out.operations, time_limit=30)
        out.linearizability = lin
        out.violations += [f"linearizability: key {k.key} is not linearizable"
                           for k in lin.violations]
        if lin.verdict == "unknown":
            out.violations.append("linearizability: unknown (the search ran out of time)")

    def _check(self) -> None:
        out = self.out
        self._check_history()
        if any(v.startswith("liveness") for v in out.violations):
            return
        lost: dict[int, Operation] = {}
        for k in self.final_voters:  # every node without membership changes
            try:
                storage = SQLiteStorage(str(self.cluster.data / f"node{k}.db"), k,
                                        self.universe)
                _, log = storage.load()
                snapshot = storage.load_snapshot()
                storage.close()
                sessions = _snapshot_sessions(snapshot.data if snapshot is not None else None)
            except (StorageError, ValueError) as exc:
                out.violations.append(f"storage: node {k}'s database is unreadable: {exc}")
                continue
            present = set()
            for entry in log:
                cmd = decode_command(entry.value)
                if cmd is not None:
                    present.add((str(cmd.get("client")), cmd.get("seq")))
            for op in out.operations:
                if op.indeterminate or op.id not in self.writes:
                    continue
                if op.kind == "cas" and op.output is not True:
                    continue
                client, seq = self.writes[op.id]
                if (client, seq) not in present and sessions.get(client, 0) < seq:
                    lost.setdefault(op.id, op)
        out.lost_writes = [lost[i] for i in sorted(lost)]
        out.violations += [f"lost write: acknowledged {op.kind} of {op.key} by client "
                           f"{op.client} is missing from a node's log" for op in out.lost_writes]


def _snapshot_sessions(data: bytes | None) -> dict[str, int]:
    """Each client's last applied sequence number in a KV snapshot (ValueError if the
    snapshot is not one)."""
    if data is None:
        return {}
    kv = KVStateMachine()
    kv.restore(data)
    return kv.sessions()


def run_real(opts: RealOptions) -> RealOutcome:
    """Run real-process chaos (blocking); the data directory is removed unless given."""
    data = Path(opts.data) if opts.data else Path(tempfile.mkdtemp(prefix="agree-chaos-"))
    data.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(RealRun(opts, data).run())
    finally:
        if not opts.data:
            shutil.rmtree(data, ignore_errors=True)
