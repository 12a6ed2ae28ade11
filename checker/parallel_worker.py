"""One worker process of the multi-process BFS (see parallel.py): a shard of the
seen-set, a share of the frontier, and the expansion loop."""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from agree.checker.compact import Compactor
from agree.checker.limits import rss_bytes
from agree.checker.seen import SeenSet
from agree.spec import Action, Property, Spec

__all__ = ["Fingerprint", "Report", "Worker", "serve"]

Fingerprint = Callable[[Any], int]
#: A violation found by a worker: property, kind, parent fingerprint (None for an
#: initial state), the action label and arguments of the last step (None when the
#: owner only has the state), and the state.
Report = tuple[str, str, int | None, str | None, tuple[Any, ...], Any]


class Worker:
    """One process: a shard of the seen-set and its frontier. Served over a pipe by
    :func:`serve`, or wrapped by a Ray actor (ray_backend.py); both call :meth:`handle`."""

    def __init__(self, wid: int, n: int, spec: Spec[Any], props: Sequence[Property],
                 fingerprint: Fingerprint, conn: Connection | None, opts: dict[str, Any]) -> None:
        self.wid, self.n, self.spec, self.conn = wid, n, spec, conn
        self.fingerprint = fingerprint
        self.invs = [p for p in props if p.kind == "invariant"]
        self.act_props = [p for p in props if p.kind == "action"]
        self.somes = [p for p in props if p.kind == "sometimes"]
        self.opts = opts
        self.actions = spec.actions()
        # fingerprint -> parent's fingerprint (its own for an initial state)
        self.seen = SeenSet("q")
        self.compactor = Compactor()  # frontier states are kept packed
        self.frontier: list[tuple[int, Any]] = []
        self.next: list[tuple[int, Any]] = []
        self.generated = 0
        self.cov_gen = [0] * len(self.actions)
        self.cov_new = [0] * len(self.actions)
        self.reports: list[Report] = []
        self.satisfied: list[str] = []
        self.stopped: str | None = None
        self.baseline = rss_bytes()  # forked pages are shared: count only growth
        self.cand: dict[int, list[tuple[int, int, int, tuple[Any, ...], Any]]] = {}
        # the coordinator sends the time left, not its clock (a Ray actor may run on
        # another machine)
        left = opts.get("time_left")
        self.deadline = time.monotonic() + left if left is not None else None
        # States are acyclic, yet every tuple of them is tracked by the cyclic garbage
        # collector, whose full passes grow with the heap: collect rarely.
        gc.freeze()
        gc.set_threshold(200_000, 20, 1_000)

    def check_state(self, state: Any, parent: int | None, label: str | None,
                    args: tuple[Any, ...]) -> None:
        for p in tuple(self.invs):
            if not p.fn(self.spec, state):
                self.reports.append((p.name, "invariant", parent, label, args, state))
                self.invs.remove(p)
        for p in tuple(self.somes):
            if p.fn(self.spec, state):
                self.satisfied.append(p.name)
                self.somes.remove(p)

    def accept(self, fp: int, parent: int | None, state: Any, label: str | None,
               args: tuple[Any, ...]) -> None:
        self.check_state(state, parent, label, args)
        self.next.append((fp, self.compactor.pack(state)))

    def init(self, states: list[tuple[int | None, Any]]) -> None:
        for fp, s in states:
            if fp is None:  # outside the constraint: checked, not kept
                if self.opts["check_pruned"]:
                    self.check_state(s, None, None, ())
            elif self.seen.add(fp, fp):
                self.accept(fp, None, s, None, ())
        self.frontier, self.next = self.next, []

    def expand(self, failed: list[str]) -> dict[int, bytes]:
        self.invs = [p for p in self.invs if p.name not in failed]
        self.act_props = [p for p in self.act_props if p.name not in failed]
        spec, fingerprint, n, wid, seen = self.spec, self.fingerprint, self.n, self.wid, self.seen
        constrained = type(spec).constraint is not Spec.constraint
        check_pruned, deadlock = self.opts["check_pruned"], self.opts["deadlock"]
        stop_first, deadline = self.opts["stop_at_first"], self.deadline
        share = self.opts["memory_share"]
        self.cand = {o: [] for o in range(n) if o != wid}
        claimed: dict[int, set[int]] = {o: set() for o in self.cand}
        unpack = self.compactor.unpack
        frontier: list[Any] = self.frontier
        self.frontier = []
        for count in range(len(frontier)):
            sfp, packed = frontier[count]
            frontier[count] = None  # expanded: its memory can go
            s = unpack(packed)
            if count & 1023 == 1023:
                if deadline is not None and time.monotonic() > deadline:
                    self.stopped = "time-limit"
                if share is not None and rss_bytes() - self.baseline > share:
                    self.stopped = "memory"
            if self.stopped or (stop_first and self.reports):
                break
            enabled = False
            for ai, act in enumerate(self.actions):
                for args, t in _successors(spec, act, s):
                    enabled = True
                    self.generated += 1
                    self.cov_gen[ai] += 1
                    for p in tuple(self.act_props):
                        if not p.fn(spec, s, t):
                            self.reports.append((p.name, "action", sfp, act.label, args, t))
                            self.act_props.remove(p)
                    if constrained and not spec.constraint(t):
                        if check_pruned and (self.invs or self.somes):
                            self.check_state(t, sfp, act.label, args)
                        continue
                    tfp = fingerprint(t)
                    o = tfp % n
                    if o == wid:
                        if seen.add(tfp, sfp):
                            self.cov_new[ai] += 1
                            self.accept(tfp, sfp, t, act.label, args)
                    elif tfp not in claimed[o]:
                        claimed[o].add(tfp)
                        self.cand[o].append((tfp, sfp, ai, args, t))
            if deadlock and not enabled:
                self.reports.append(("deadlock", "deadlock", sfp, None, (), s))
                self.opts["deadlock"] = deadlock = False
        return {o: pickle.dumps([(c[0], c[1]) for c in cands], pickle.HIGHEST_PROTOCOL)
                for o, cands in self.cand.items()}

    def claim(self, claims: dict[int, bytes]) -> dict[int, bytes]:
        out = {}
        for src in sorted(claims):
            kept = []
            for i, (fp, parent) in enumerate(pickle.loads(claims[src])):
                if self.seen.add(fp, parent):
                    kept.append(i)
            out[src] = pickle.dumps(kept, pickle.HIGHEST_PROTOCOL)
        return out

    def keep(self, kept: dict[int, bytes]) -> dict[str, Any]:
        """The owners kept these candidates: they join this worker's next level."""
        labels = [a.label for a in self.actions]
        for o in sorted(kept):
            cands = self.cand[o]
            for i in pickle.loads(kept[o]):
                fp, parent, ai, args, t = cands[i]
                self.cov_new[ai] += 1
                self.accept(fp, parent, t, labels[ai], args)
        self.cand = {}
        self.frontier, self.next = self.next, []
        return self.report()

    def give(self, counts: dict[int, int]) -> dict[int, bytes]:
        """Hand states of the frontier to other workers (load balancing)."""
        out = {}
        for dst, count in sorted(counts.items()):
            moved, self.frontier = self.frontier[-count:], self.frontier[:-count]
            out[dst] = pickle.dumps(moved, pickle.HIGHEST_PROTOCOL)
        return out

    def take(self, given: dict[int, bytes]) -> int:
        for src in sorted(given):
            self.frontier.extend(pickle.loads(given[src]))
        return len(self.frontier)

    def parent(self, fp: int) -> tuple[bool, int | None]:
        """Whether ``fp`` is in this shard, and its parent's fingerprint (None: initial)."""
        k = self.seen.ordinal(fp)
        if k < 0:
            return False, None
        up = self.seen.parents[k]
        return True, None if up == fp else up

    def report(self) -> dict[str, Any]:
        out = {"distinct": len(self.seen), "generated": self.generated, "queue": len(self.frontier),
               "cov_gen": self.cov_gen, "cov_new": self.cov_new, "reports": self.reports,
               "satisfied": self.satisfied, "stopped": self.stopped,
               "rss": max(rss_bytes() - self.baseline, 0), "cpu": time.process_time()}
        self.reports, self.satisfied = [], []
        return out

    def save(self, path: str) -> None:
        tmp = f"{path}.tmp"
        with open(tmp, "wb") as f:
            pickle.dump((self.seen, self.frontier, self.generated, self.cov_gen, self.cov_new,
                         [p.name for p in self.invs], [p.name for p in self.somes]), f,
                        pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)

    def load(self, path: str) -> None:
        with open(path, "rb") as f:
            (self.seen, self.frontier, self.generated, self.cov_gen, self.cov_new, invs,
             somes) = pickle.load(f)
        self.invs = [p for p in self.invs if p.name in invs]
        self.somes = [p for p in self.somes if p.name in somes]

    def handle(self, cmd: str, arg: Any) -> tuple[str, Any]:
        """Run one coordinator request: ``("ok", answer)`` or ``("error", message)``."""
        handlers: dict[str, Callable[..., Any]] = {
            "init": self.init, "expand": self.expand, "claim": self.claim, "keep": self.keep,
            "give": self.give, "take": self.take, "report": lambda _: self.report(),
            "save": self.save,
            "load": self.load,
            "parent": self.parent,
        }
        try:
            return "ok", handlers[cmd](arg)
        except Exception as exc:
            return "error", f"{type(exc).__name__}: {exc}"

    def serve(self) -> None:
        """Answer requests from the pipe until told to stop."""
        assert self.conn is not None
        while True:
            cmd, arg = self.conn.recv()
            if cmd == "stop":
                return
            self.conn.send(self.handle(cmd, arg))


def _successors(spec: Spec[Any], act: Action[Any], s: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """The enabled bindings of one action and their states (one and two parameters, the
    common cases, without building every argument tuple)."""
    fn = act.fn
    out: list[tuple[tuple[Any, ...], Any]] = []
    doms = [getattr(spec, d) if isinstance(d, str) else list(d(spec, s)) for _, d in act.domains]
    if len(doms) == 1:
        for x in doms[0]:
            t = fn(s, x)
            if t is not None:
                out.append(((x,), t))
    elif len(doms) == 2:
        ys = doms[1]
        for x in doms[0]:
            for y in ys:
                t = fn(s, x, y)
                if t is not None:
                    out.append(((x, y), t))
    else:
        for args in act.bindings(s):
            t = fn(s, *args)
            if t is not None:
                out.append((args, t))
    return out


def serve(wid: int, n: int, spec: Spec[Any], props: Sequence[Property],
           fingerprint: Fingerprint, conn: Connection, opts: dict[str, Any]) -> None:
    with contextlib.suppress(KeyboardInterrupt, EOFError, BrokenPipeError):
        Worker(wid, n, spec, props, fingerprint, conn, opts).serve()
