"""`agree serve`, `agree cluster up`, `agree kv ...`: run and use the replicated KV service."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from agree.cli.common import UsageError
from agree.impl.client import ClusterUnavailable, KVClient
from agree.impl.node import NodeUsageError, add_serve_arguments, parse_peers, serve_node

__all__ = ["register"]

DEFAULT_CLUSTER_DIR = "agree-cluster"


def _usage(message: str) -> Exception:
    return UsageError(message)


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run one node of the replicated KV service",
                       description="Run node ID of a Raft cluster whose nodes listen on "
                       "--peers (HOST:PORT list, in id order). State is kept durably in "
                       "DIR/nodeID.db (SQLite, synchronous writes).")
    add_serve_arguments(p)
    p.set_defaults(handler=run_serve)

    p = sub.add_parser("cluster", help="start a local cluster",
                       description="Manage a cluster of local `agree serve` processes.")
    csub = p.add_subparsers(dest="cluster_command", metavar="ACTION", parser_class=type(p))
    csub.required = True
    up = csub.add_parser("up", help="start N local nodes and wait (Ctrl-C stops them)",
                         description="Start N nodes on 127.0.0.1, print their addresses, "
                         "write DIR/cluster.json for `agree kv --cluster`, and stop them "
                         "cleanly on Ctrl-C or SIGTERM.")
    up.add_argument("--nodes", type=int, default=3, help="how many nodes (default 3)")
    up.add_argument("--base-port", type=int, default=7100,
                    help="node k listens on BASE+k (default 7100)")
    up.add_argument("--data", default=DEFAULT_CLUSTER_DIR, metavar="DIR",
                    help=f"data directory (default ./{DEFAULT_CLUSTER_DIR})")
    up.add_argument("--event-log", action="store_true",
                    help="each node writes DIR/eventsK.jsonl")
    up.add_argument("--spares", type=int, default=0,
                    help="also start this many spare nodes (ids N, N+1, ...), running but "
                    "not voting until `agree cluster add` makes them voters (default 0)")
    up.set_defaults(handler=run_cluster_up)
    for name, helptext in [
            ("add", "make node ID a voter: the leader catches it up first, then commits "
             "the configuration with it (one change at a time)"),
            ("remove", "remove node ID from the voters (the leader may remove itself: it "
             "steps down once the change commits)")]:
        ch = csub.add_parser(name, help=helptext, description=helptext + ". Exit 0 once "
                             "committed, 1 if refused or no leader answered.")
        ch.add_argument("node", type=int, metavar="ID",
                        help="the node's id (its position in the cluster file)")
        ch.add_argument("--to", metavar="ADDRS", help="comma-separated HOST:PORT of nodes")
        ch.add_argument("--cluster", metavar="FILE",
                        help=f"cluster file (default ./{DEFAULT_CLUSTER_DIR}/cluster.json)")
        ch.add_argument("--timeout", type=float, default=10.0, help="give up after SECONDS")
        ch.set_defaults(handler=run_cluster_change)

    p = sub.add_parser("kv", help="put, get, delete or compare-and-set a key",
                       description="Talk to a cluster: any node will do (followers "
                       "redirect to the leader). Exit 0 on success, 1 if the key is absent, "
                       "the cas did not swap or the cluster did not answer.")
    ksub = p.add_subparsers(dest="kv_command", metavar="OP", parser_class=type(p))
    ksub.required = True
    for name, helptext, args in [
            ("put", "set KEY to VALUE", ["key", "value"]),
            ("get", "read KEY (linearizable, through the log)", ["key"]),
            ("del", "delete KEY", ["key"]),
            ("cas", "set KEY to VALUE if it holds --expected (absent if omitted)",
             ["key", "value"]),
            ("status", "print every node's role, term and commit index", [])]:
        op = ksub.add_parser(name, help=helptext, description=helptext)
        for a in args:
            op.add_argument(a, metavar=a.upper())
        if name == "cas":
            op.add_argument("--expected", metavar="OLD", help="the value KEY must hold now")
        if name == "get":
            op.add_argument("--stale", action="store_true",
                            help="read the contacted node's copy, without the log")
        op.add_argument("--to", metavar="ADDRS", help="comma-separated HOST:PORT of nodes")
        op.add_argument("--cluster", metavar="FILE",
                        help=f"cluster file (default ./{DEFAULT_CLUSTER_DIR}/cluster.json)")
        op.add_argument("--timeout", type=float, default=10.0, help="give up after SECONDS")
        op.add_argument("--json", action="store_true", help="print the reply as JSON")
        op.set_defaults(handler=run_kv)


def _peers(text: str) -> tuple[tuple[str, int], ...]:
    try:
        return parse_peers(text)
    except NodeUsageError as exc:
        raise _usage(str(exc)) from None


def run_serve(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        return serve_node(args)
    except NodeUsageError as exc:
        raise _usage(str(exc)) from None


def run_cluster_up(args: argparse.Namespace, extra: list[str]) -> int:
    if not 1 <= args.nodes <= 99:
        raise _usage("--nodes must be in 1..99")
    if not 0 <= args.spares <= 99 - args.nodes:
        raise _usage("--spares must be in 0..99 less --nodes")
    total = args.nodes + args.spares
    if not (args.base_port > 0 and args.base_port + total <= 65536):
        raise _usage("--base-port leaves no room for the nodes' ports")
    addrs = [f"127.0.0.1:{args.base_port + k}" for k in range(total)]
    os.makedirs(args.data, exist_ok=True)
    with open(os.path.join(args.data, "cluster.json"), "w", encoding="utf-8") as f:
        json.dump({"nodes": addrs}, f)
    procs: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for k in range(total):
            cmd = [sys.executable, "-m", "agree.impl.server", "--id", str(k),
                   "--peers", ",".join(addrs), "--data", args.data]
            if args.spares:
                cmd += ["--voters", ",".join(str(v) for v in range(args.nodes))]
            if args.event_log:
                cmd += ["--event-log", os.path.join(args.data, f"events{k}.jsonl")]
            procs.append(subprocess.Popen(cmd))
            spare = " (spare)" if k >= args.nodes else ""
            print(f"node {k}: {addrs[k]}{spare} (pid {procs[-1].pid})", flush=True)
        print(f"cluster file: {os.path.join(args.data, 'cluster.json')}; Ctrl-C stops "
              "the cluster", flush=True)
        reported: set[int] = set()
        while not stopping:
            time.sleep(0.2)
            for k, p in enumerate(procs):
                if p.poll() is not None and k not in reported:
                    reported.add(k)
                    print(f"node {k} exited with code {p.returncode}", file=sys.stderr)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 5
        for p in procs:
            try:
                p.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    print("cluster stopped", flush=True)
    return 0


def run_cluster_change(args: argparse.Namespace, extra: list[str]) -> int:
    addrs = _addresses(args)
    if not 0 <= args.node < len(addrs):
        raise _usage(f"unknown node {args.node}: the cluster's nodes are 0..{len(addrs) - 1}")
    return asyncio.run(_change(args, addrs))


async def _change(args: argparse.Namespace, addrs: list[str]) -> int:
    client = KVClient(addrs, timeout=args.timeout)
    try:
        if args.cluster_command == "add":
            reply = await client.add_server(args.node)
        else:
            reply = await client.remove_server(args.node)
    except ClusterUnavailable as exc:
        print(f"error: no leader took the change: {exc}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    if not reply.get("ok"):
        print(f"error: {reply.get('error')}", file=sys.stderr)
        return 1
    voters = ", ".join(str(v) for v in reply.get("voters", []))
    print(f"ok: the voters are now {voters} (configuration entry {reply.get('index')})")
    return 0


def _addresses(args: argparse.Namespace) -> list[str]:
    if args.to:
        addrs = [a.strip() for a in args.to.split(",") if a.strip()]
        _peers(args.to)
        return addrs
    path = args.cluster or os.path.join(DEFAULT_CLUSTER_DIR, "cluster.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        addrs = [str(a) for a in data["nodes"]]
    except OSError as exc:
        raise _usage(f"cannot read cluster file {path}: {exc.strerror or exc} "
                     "(give --to HOST:PORT or --cluster FILE)") from None
    except (ValueError, KeyError, TypeError):
        raise _usage(f"{path} is not a cluster file (expected {{\"nodes\": [...]}})") from None
    _peers(",".join(addrs))
    return addrs


def run_kv(args: argparse.Namespace, extra: list[str]) -> int:
    addrs = _addresses(args)
    return asyncio.run(_kv(args, addrs))


async def _kv(args: argparse.Namespace, addrs: list[str]) -> int:
    client = KVClient(addrs, timeout=args.timeout)
    op = args.kv_command
    try:
        if op == "status":
            code = 0
            for a in addrs:
                try:
                    print(json.dumps({"address": a, **await client.status(a)}))
                except (OSError, TimeoutError) as exc:
                    print(json.dumps({"address": a, "error": str(exc) or type(exc).__name__}))
                    code = 1
            return code
        if op == "put":
            reply = await client.put(args.key, args.value)
        elif op == "get":
            reply = await client.get(args.key, stale=args.stale)
        elif op == "del":
            reply = await client.delete(args.key)
        else:
            reply = await client.cas(args.key, args.expected, args.value)
    except ClusterUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    if args.json:
        print(json.dumps(reply))
    elif op == "get":
        if reply.get("value") is None:
            print(f"{args.key}: not found", file=sys.stderr)
            return 1
        print(reply["value"])
    elif op == "cas" and not reply.get("ok"):
        print(f"not swapped: {args.key} holds {reply.get('value')!r}", file=sys.stderr)
    else:
        print("ok" if reply.get("ok") else f"failed: {reply.get('error')}")
    return 0 if reply.get("ok") else 1
