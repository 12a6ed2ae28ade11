"""One node of the KV service from the command line: ``python -m agree.impl.server``.

The same options as ``agree serve`` (which registers them from here), so a cluster
can be started without the checker side of agree.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from agree.impl.net import parse_address
from agree.impl.raft import Config
from agree.impl.server import KVServer, ServerOptions
from agree.impl.storage import StorageError

__all__ = ["NodeUsageError", "add_serve_arguments", "main", "parse_peers", "parse_voters",
           "serve_node"]


class NodeUsageError(ValueError):
    """Bad options for a node: reported as one line, exit code 2."""


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    """The options of one node (``agree serve`` and ``python -m agree.impl.server``)."""
    p.add_argument("--id", type=int, required=True, help="this node's id, 0..N-1")
    p.add_argument("--peers", required=True, metavar="ADDRS",
                   help="comma-separated HOST:PORT of every node, in id order")
    p.add_argument("--data", required=True, metavar="DIR", help="data directory")
    p.add_argument("--bind", default="127.0.0.1", metavar="HOST",
                   help="address to listen on (default 127.0.0.1)")
    p.add_argument("--tick-ms", type=float, default=10.0, help="tick length (default 10 ms)")
    p.add_argument("--election-ticks", type=int, default=15,
                   help="election timeout T in ticks; timeouts are drawn from [T, 2T] "
                   "(default 15, i.e. 150 ms)")
    p.add_argument("--heartbeat-ticks", type=int, default=5, help="heartbeat period in ticks")
    p.add_argument("--max-batch", type=int, default=64,
                   help="most entries per AppendEntries (default 64)")
    p.add_argument("--no-pre-vote", action="store_true",
                   help="start elections without a pre-vote round (PreVote is on by default)")
    p.add_argument("--no-check-quorum", action="store_true",
                   help="a leader cut off from a quorum stays leader (CheckQuorum, which "
                   "makes it step down and gives leaders a lease against vote requests, "
                   "is on by default)")
    p.add_argument("--reads", choices=("index", "log"), default="index",
                   help="linearizable reads by ReadIndex, confirmed with a heartbeat round "
                   "(default), or through the log")
    p.add_argument("--snapshot-every", type=int, default=10_000, metavar="N",
                   help="snapshot the state machine and compact the log every N applied "
                   "entries (default 10000; 0: never)")
    p.add_argument("--voters", metavar="IDS",
                   help="the initial configuration: comma-separated ids of the nodes that "
                   "vote (default: every --peers node; the others are spares that `agree "
                   "cluster add` can make voters)")
    p.add_argument("--event-log", metavar="FILE",
                   help="append the protocol's steps as JSON lines (raft.tla action names)")
    p.add_argument("--seed", type=int, help="seed of the election-timeout randomness")
    p.add_argument("--event-loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                   help="the event loop: uvloop (pip install 'agree[fast]'; less CPU per "
                   "request), asyncio's own, or auto (default): uvloop if installed")
    p.add_argument("-v", "--verbose", action="store_true", help="log connections and drops")


def parse_peers(text: str) -> tuple[tuple[str, int], ...]:
    """``HOST:PORT,HOST:PORT,...`` as address pairs; a bad address is a usage error."""
    try:
        return tuple(parse_address(a) for a in text.split(",") if a.strip())
    except ValueError as exc:
        raise NodeUsageError(str(exc)) from None


def parse_voters(text: str, n: int) -> tuple[int, ...]:
    """``0,1,2`` as node ids, each in 0..n-1; anything else is a usage error."""
    try:
        ids = tuple(sorted({int(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise NodeUsageError(f"--voters {text!r} is not a comma-separated list of node "
                             "ids") from None
    if not ids:
        raise NodeUsageError("--voters lists no node")
    bad = [v for v in ids if not 0 <= v < n]
    if bad:
        raise NodeUsageError(f"--voters names node {bad[0]}, not one of the --peers "
                             f"(0..{n - 1})")
    return ids


def serve_node(args: argparse.Namespace) -> int:
    """Run the node the options describe until SIGINT/SIGTERM; returns the exit code."""
    peers = parse_peers(args.peers)
    if not peers:
        raise NodeUsageError("--peers lists no address")
    if not 0 <= args.id < len(peers):
        raise NodeUsageError(f"--id {args.id} is not in 0..{len(peers) - 1} "
                             "(one per --peers address)")
    if args.tick_ms <= 0:
        raise NodeUsageError("--tick-ms must be positive")
    if args.snapshot_every < 0:
        raise NodeUsageError("--snapshot-every must be >= 0 (0: never)")
    voters = parse_voters(args.voters, len(peers)) if args.voters is not None else None
    loop_factory = event_loop_factory(args.event_loop)
    try:
        config = Config(args.election_ticks, args.heartbeat_ticks, args.max_batch,
                        pre_vote=not args.no_pre_vote, check_quorum=not args.no_check_quorum,
                        voters=voters)
    except ValueError as exc:
        raise NodeUsageError(str(exc)) from None
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f"node{args.id} %(levelname)s %(message)s")
    opts = ServerOptions(args.id, peers, args.data, args.bind, args.tick_ms, config,
                         args.event_log, args.seed, reads=args.reads,
                         snapshot_every=args.snapshot_every)
    try:
        server = KVServer(opts)
    except (StorageError, OSError) as exc:
        raise NodeUsageError(str(exc)) from None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(_serve(server))


def event_loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the node's event loop for ``--event-loop`` (None: asyncio's own);
    uvloop asked for but not installed is a usage error."""
    if choice == "asyncio":
        return None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if choice == "uvloop":
            raise NodeUsageError("--event-loop uvloop: uvloop is not installed (pip install "
                                 "'agree[fast]')") from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _serve(server: KVServer) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
    except OSError as exc:
        await server.stop()
        print(f"error: node {server.id} cannot listen on {server.address}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"node {server.id} serving on {server.address}", flush=True)
    signalled = loop.create_task(stop.wait())
    await asyncio.wait([signalled, loop.create_task(server.wait_stopped())],
                       return_when=asyncio.FIRST_COMPLETED)
    signalled.cancel()
    await server.stop()
    return 1 if server.failure is not None else 0  # the server logged why it stopped


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agree.impl.server --id K --peers ... --data DIR``."""
    parser = _Parser(prog="python -m agree.impl.server",
                     description="Run one node of agree's replicated KV service.")
    add_serve_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve_node(args)
    except NodeUsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
