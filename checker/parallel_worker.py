"""One worker process of the multi-process BFS (see parallel.py): a shard of the
seen-set, a share of the frontier, and the expansion loop."""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import time
from array import array
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from agree.checker.compact import Compactor
from agree.checker.core import Core, Raised
from agree.checker.limits import rss_bytes
from agree.checker.result import SpecRuntimeError
from agree.checker.seen import SeenSet
from agree.spec import Property, Spec, SpecError

__all__ = ["Fingerprint", "Report", "Worker", "answer", "nondeterministic", "serve"]

Fingerprint = Callable[[Any], int]
#: A violation found by a worker: property, kind, parent fingerprint (None for an
#: initial state), the action label and arguments of the last step (None when the
#: owner only has the state), and the state.
Report = tuple[str, str, int | None, str | None, tuple[Any, ...], Any]
#: Items per candidate in ``Worker.cand``.
_CAND = 5


def nondeterministic(label: str, args: tuple[Any, ...]) -> str:
    """The error of a step that, taken again from the same state, led elsewhere."""
    call = f"{label}({', '.join(map(repr, args))})" if args else label
    return (f"the spec is not deterministic: {call} taken again from the same state led "
            "to a different state (an action must be a function of the state: no "
            "randomness, clock or mutable state outside it)")


def answer(reply: tuple[str, Any], where: str) -> Any:
    """A worker's answer from its reply to :meth:`Worker.handle`: the spec's exception
    (raised in ``where``) as :class:`SpecRuntimeError`, a fault found in the spec as
    :class:`SpecError`."""
    status, value = reply
    if status == "error":
        raise SpecRuntimeError(f"the spec raised in {where}: {value}")
    if status == "spec-error":
        raise SpecError(value)
    return value


class Worker:
    """One process: a shard of the seen-set and its frontier. Served over a pipe by
    :func:`serve`, or wrapped by a Ray actor (ray_backend.py); both call :meth:`handle`.
    States are expanded by the core every engine shares (core.py)."""

    def __init__(self, wid: int, n: int, spec: Spec[Any], props: Sequence[Property],
                 fingerprint: Fingerprint, conn: Connection | None, opts: dict[str, Any]) -> None:
        self.wid, self.n, self.spec, self.conn = wid, n, spec, conn
        self.fingerprint = fingerprint
        self.opts = opts
        self.core = Core(spec, props, check_pruned=opts["check_pruned"],
                         deadlock=opts["deadlock"])
        self.actions = spec.actions()
        # fingerprint -> parent's fingerprint (its own for an initial state)
        self.seen = SeenSet("q")
        self.compactor = Compactor()  # frontier states are kept packed
        # the frontier and the next level: packed states, and their fingerprints apart
        # (64-bit ints in an array: a tuple and an int object per state saved)
        self.frontier: list[Any] = []
        self.frontier_fps = array("q")
        self.next: list[Any] = []
        self.next_fps = array("q")
        self.stopped: str | None = None
        # CPU seconds per request kind, and of each request in turn (see pools.Timed)
        self.phase_cpu: dict[str, float] = {}
        self.timeline: list[float] = []
        self.counts = {"candidates": 0, "known": 0, "kept": 0, "sent_bytes": 0}
        self.baseline = rss_bytes()  # forked pages are shared: count only growth
        # per other worker: this level's candidates for their owner to claim, flat, five
        # items each (see _CAND): fingerprint, parent's, the parent's position in the
        # frontier, action index, arguments; and their fingerprints (one candidate each).
        # Not the states: a level's candidates kept alive cost more CPU (allocation,
        # garbage collection) than rebuilding the few kept from their packed parent.
        self.cand: list[list[Any]] = [[] for _ in range(n)]
        # per other worker: the fingerprints it owns sent to it (or met again) this
        # level, and last level's: all of them are in its shard now, so a successor
        # among them is a state seen and is not sent again (one BFS level's successors
        # are mostly the previous level's states, met again)
        self.claimed: list[set[int]] = [set() for _ in range(n)]
        self.known: list[set[int]] = [set() for _ in range(n)]
        # the state being expanded, its position in the frontier, and whether it has
        # candidates (then its packed form is kept until ``keep``)
        self.expanding: list[Any] = [None, 0, False]
        self.expanded: list[Any] = []  # the frontier just expanded: parents of candidates
        # per parent of candidates, by frontier place: its history variables' values as
        # the expansion computed them (spec.history_memo; None: none), so that its
        # candidates kept are rebuilt without computing them again
        self.histories: list[Any] = []
        self.fns = [a.fn for a in self.actions]
        # the coordinator sends the time left, not its clock (a Ray actor may run on
        # another machine)
        left = opts.get("time_left")
        self.deadline = time.monotonic() + left if left is not None else None
        # States are acyclic, yet every tuple of them is tracked by the cyclic garbage
        # collector, whose full passes grow with the heap: collect rarely.
        gc.freeze()
        gc.set_threshold(200_000, 20, 1_000)
        self._expand = self._expander()

    def _expander(self) -> Callable[[Any, Any], None]:
        """The core's expansion of a state, with this worker's ``admit``: built once (and
        after ``load``, which replaces the seen-set), since each build leaves a cycle
        (the generated code and its namespace) that only a full collection frees, with
        whatever the closure holds."""
        fingerprint, n, wid, seen_add = self.fingerprint, self.n, self.wid, self.seen.add
        cand, claimed, nxt, nxt_fp = self.cand, self.claimed, self.next.append, self.next_fps.append
        known = self.known
        expanding, pack = self.expanding, self.compactor.pack

        def admit(t: Any, sfp: int, ai: int, args: tuple[Any, ...]) -> bool:
            tfp = fingerprint(t)
            o = tfp % n
            if o == wid:
                if seen_add(tfp, sfp):
                    nxt(pack(t, expanding[0]))
                    nxt_fp(tfp)
                    return True
                return False
            seen = claimed[o]
            if tfp not in seen:
                seen.add(tfp)
                if tfp not in known[o]:  # its owner decides (claim), then keep
                    cand[o].extend((tfp, sfp, expanding[1], ai, args))
                    expanding[2] = True
            return False

        # the workers stop between states, not within one: every violation of a state
        # is reported
        return self.core.expander(admit, stop=False)

    def _next_level(self) -> None:
        """The states queued become the frontier (``next`` stays the same list: the
        expander's ``admit`` appends to it)."""
        self.frontier, self.frontier_fps = self.next.copy(), self.next_fps[:]
        self.next.clear()
        del self.next_fps[:]

    def init(self, states: list[Any]) -> None:
        """Initial states whose fingerprints this worker owns (TLC's semantics: the core)."""
        fingerprint, seen, pack = self.fingerprint, self.seen, self.compactor.pack

        def admit(t: Any, _parent: Any, _ai: int, _args: tuple[Any, ...]) -> bool:
            fp = fingerprint(t)
            if seen.add(fp, fp):
                self.next.append(pack(t))
                self.next_fps.append(fp)
                return True
            return False

        for s in states:
            self.core.initial(s, admit)
        self._next_level()

    def expand(self, failed: list[str]) -> dict[int, bytes]:
        """Expand the frontier: successors this worker owns are queued at once, the others'
        (fingerprint, parent) pairs are returned per owner, to claim."""
        self.core.drop(failed)
        stop_first, deadline = self.opts["stop_at_first"], self.deadline
        share = self.opts["memory_share"]
        unpack, found, expand = self.compactor.unpack, self.core.found, self._expand
        expanding, memo = self.expanding, self.spec.history_memo
        frontier, fps = self.frontier, self.frontier_fps
        self.frontier, self.frontier_fps = [], array("q")
        self.expanded = frontier
        histories = self.histories = [None] * len(frontier)
        for count in range(len(frontier)):
            s = expanding[0] = unpack(frontier[count])
            expanding[1], expanding[2] = count, False
            sfp = fps[count]
            if count & 1023 == 1023:
                if deadline is not None and time.monotonic() > deadline:
                    self.stopped = "time-limit"
                if share is not None and rss_bytes() - self.baseline > share:
                    self.stopped = "memory"
            if self.stopped or (stop_first and found):
                break
            expand(s, sfp)
            if expanding[2]:
                histories[count] = memo(s)
            else:
                frontier[count] = None  # expanded, no candidate: its memory can go
        expanding[0] = None
        known, claimed = self.known, self.claimed
        self.counts["known"] += sum(len(c) for c in claimed) - sum(
            len(c) for c in self.cand) // _CAND
        for o in range(self.n):
            known[o], claimed[o] = claimed[o], set()
        # to each owner: the candidates' fingerprints, then their parents', as 64-bit ints
        out = {o: array("q", cands[0::_CAND]).tobytes() + array("q", cands[1::_CAND]).tobytes()
               for o, cands in enumerate(self.cand) if o != self.wid}
        self.counts["candidates"] += sum(len(c) for c in self.cand) // _CAND
        self.counts["sent_bytes"] += sum(len(b) for b in out.values())
        return out

    def claim(self, claims: dict[int, bytes]) -> dict[int, bytes]:
        """Keep the candidates never seen (in sender order: the first claim wins) and
        answer each sender with the positions of its candidates kept."""
        out = {}
        add = self.seen.add
        for src in sorted(claims):
            pairs = array("q", claims[src])
            half = len(pairs) // 2
            kept = array("q", [i for i, fp, parent in zip(
                range(half), pairs[:half], pairs[half:], strict=True) if add(fp, parent)])
            out[src] = kept.tobytes()
            self.counts["kept"] += len(kept)
        return out

    def keep(self, kept: dict[int, bytes]) -> dict[str, Any]:
        """The owners kept these candidates: they join this worker's next level."""
        stats, pack, check = self.core.stats, self.compactor.pack, self.core.check_successor
        fingerprint = self.fingerprint
        unpack, fns, parents = self.compactor.unpack, self.fns, self.expanded
        histories, recall = self.histories, self.spec.recall_history
        nxt, nxt_fp = self.next.append, self.next_fps.append
        for o in sorted(kept):
            cands = self.cand[o]
            at, s = -1, None
            for i in array("q", kept[o]):
                k = _CAND * i
                fp, parent, here, ai, args = cands[k:k + _CAND]
                if here != at:  # (candidates come in frontier order: a parent once)
                    at, s = here, unpack(parents[here])
                    if histories[here] is not None:
                        recall(s, histories[here])
                try:  # the step again, from the packed parent
                    t = fns[ai](s, *args)
                except Exception as exc:
                    raise Raised(self.actions[ai].label, parent, ai, args, s, exc) from exc
                if fingerprint(t) != fp:  # the spec is not a function of the state
                    raise SpecError(nondeterministic(self.actions[ai].label, args))
                stats[ai].distinct += 1
                check(s, t, parent, ai, args)
                nxt(pack(t, s))
                nxt_fp(fp)
        for c in self.cand:
            c.clear()
        self.expanded, self.histories = [], []
        self._next_level()
        return self.report()

    def give(self, counts: dict[int, int]) -> dict[int, bytes]:
        """Hand states of the frontier to other workers (load balancing)."""
        out = {}
        for dst, count in sorted(counts.items()):
            moved = list(zip(self.frontier_fps[-count:], self.frontier[-count:], strict=True))
            del self.frontier[-count:]
            del self.frontier_fps[-count:]
            out[dst] = pickle.dumps(moved, pickle.HIGHEST_PROTOCOL)
        return out

    def take(self, given: dict[int, bytes]) -> int:
        for src in sorted(given):
            for fp, packed in pickle.loads(given[src]):
                self.frontier_fps.append(fp)
                self.frontier.append(packed)
        return len(self.frontier)

    def parent(self, fp: int) -> tuple[bool, int | None]:
        """Whether ``fp`` is in this shard, and its parent's fingerprint (None: initial)."""
        k = self.seen.ordinal(fp)
        if k < 0:
            return False, None
        up = self.seen.parents[k]
        return True, None if up == fp else up

    def _reports(self) -> list[Report]:
        """What the core found, as the coordinator reads it (then forgotten here)."""
        labels = [a.label for a in self.actions]
        out: list[Report] = []
        for prop, parent, ai, args, state in self.core.found:
            if prop is None:
                out.append(("deadlock", "deadlock", parent, None, (), state))
            else:
                out.append((prop.name, prop.kind, parent, labels[ai] if ai >= 0 else None,
                            args, state))
        self.core.found.clear()
        return out

    def report(self) -> dict[str, Any]:
        core = self.core
        out = {"distinct": len(self.seen), "generated": core.generated,
               "queue": len(self.frontier),
               "cov_gen": [st.generated for st in core.stats],
               "cov_new": [st.distinct for st in core.stats], "reports": self._reports(),
               "satisfied": list(core.satisfied), "stopped": self.stopped,
               "rss": max(rss_bytes() - self.baseline, 0), "cpu": time.process_time(),
               "phase_cpu": dict(self.phase_cpu), "counts": dict(self.counts)}
        core.satisfied.clear()
        return out

    def save(self, path: str) -> None:
        core = self.core
        tmp = f"{path}.tmp"
        with open(tmp, "wb") as f:
            frontier = list(zip(self.frontier_fps, self.frontier, strict=True))
            pickle.dump((self.seen, frontier, core.generated,
                         [st.generated for st in core.stats],
                         [st.distinct for st in core.stats],
                         [p.name for p in core.invs], [p.name for p in core.somes]), f,
                        pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)

    def load(self, path: str) -> None:
        with open(path, "rb") as f:
            (self.seen, frontier, _generated, cov_gen, cov_new, invs,
             somes) = pickle.load(f)
        self.frontier = [packed for _, packed in frontier]
        self.frontier_fps = array("q", [fp for fp, _ in frontier])
        core = self.core
        for st, g, d in zip(core.stats, cov_gen, cov_new, strict=True):
            st.generated, st.distinct = g, d
        core.invs[:] = [p for p in core.invs if p.name in invs]
        core.somes[:] = [p for p in core.somes if p.name in somes]
        core.changed()
        self._expand = self._expander()  # its admit adds to the seen-set just loaded

    def handle(self, cmd: str, arg: Any) -> tuple[str, Any]:
        """Run one coordinator request: ``("ok", answer)`` or ``("error", message)``."""
        handlers: dict[str, Callable[..., Any]] = {
            "init": self.init, "expand": self.expand, "claim": self.claim, "keep": self.keep,
            "give": self.give, "take": self.take, "report": lambda _: self.report(),
            "save": self.save,
            "load": self.load,
            "parent": self.parent,
            "timeline": lambda _: self.timeline,
        }
        c0 = time.process_time()
        try:
            return "ok", handlers[cmd](arg)
        except Raised as raised:  # the spec's own exception, as the user wrote it
            return "error", f"{type(raised.exc).__name__}: {raised.exc}"
        except SpecError as exc:  # what the worker found wrong with the spec
            return "spec-error", str(exc)
        except Exception as exc:
            return "error", f"{type(exc).__name__}: {exc}"
        finally:
            spent = time.process_time() - c0
            self.phase_cpu[cmd] = self.phase_cpu.get(cmd, 0.0) + spent
            self.timeline.append(spent)

    def serve(self) -> None:
        """Answer requests from the pipe until told to stop."""
        assert self.conn is not None
        while True:
            cmd, arg = self.conn.recv()
            if cmd == "stop":
                return
            self.conn.send(self.handle(cmd, arg))



def serve(wid: int, n: int, spec: Spec[Any], props: Sequence[Property],
           fingerprint: Fingerprint, conn: Connection, opts: dict[str, Any]) -> None:
    with contextlib.suppress(KeyboardInterrupt, EOFError, BrokenPipeError):
        Worker(wid, n, spec, props, fingerprint, conn, opts).serve()
