"""The coordinator's workers: the pool protocol and its two local kinds, forked
processes (:class:`ForkPool`) and workers in this process answering in turn
(:class:`InProcessPool`), and :class:`Timed`, which adds up a run's critical path from
the workers' CPU per request. Ray actors are the third kind (ray_backend.py)."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, Protocol

from agree.checker.parallel_worker import Fingerprint, Worker, answer, serve
from agree.checker.result import SpecRuntimeError
from agree.spec import Property, Spec, SpecError

__all__ = ["ForkPool", "InProcessPool", "Pool", "PoolFactory", "Timed", "ask_all"]


class Pool(Protocol):
    """Workers the coordinator talks to: forked processes (:class:`ForkPool`) or Ray
    actors (agree.checker.ray_backend)."""

    size: int

    def ask(self, requests: Sequence[tuple[str, Any] | None]) -> list[Any]:
        """Send each worker its request (None: nothing), then collect the answers."""
        ...

    def close(self) -> None:
        """Stop the workers."""
        ...


#: Makes a pool: (workers, spec, properties, fingerprint, worker options) -> Pool.
PoolFactory = Callable[[int, Spec[Any], Sequence[Property], Fingerprint, dict[str, Any]], Pool]


def ask_all(pool: Pool, cmd: str, arg: Any = None) -> list[Any]:
    """The same request to every worker."""
    return pool.ask([(cmd, arg)] * pool.size)


class ForkPool:
    """The forked workers and the pipes to them."""

    def __init__(self, n: int, spec: Spec[Any], props: Sequence[Property],
                 fingerprint: Fingerprint, opts: dict[str, Any]) -> None:
        try:
            ctx = multiprocessing.get_context("fork")
        except ValueError:
            raise SpecError("--workers needs the 'fork' start method (Linux); run with "
                            "--workers 1") from None
        self.size = n
        self.conns: list[Connection] = []
        self.procs = []
        for wid in range(n):
            here, there = ctx.Pipe()
            proc = ctx.Process(target=serve, args=(wid, n, spec, props, fingerprint, there, opts),
                               daemon=True, name=f"agree-worker-{wid}")
            proc.start()
            there.close()
            self.conns.append(here)
            self.procs.append(proc)

    def ask(self, requests: Sequence[tuple[str, Any] | None]) -> list[Any]:
        """Send each worker its request (None: nothing), then collect the answers."""
        for conn, req in zip(self.conns, requests, strict=True):
            if req is not None:
                conn.send(req)
        out: list[Any] = []
        for conn, req in zip(self.conns, requests, strict=True):
            if req is None:
                out.append(None)
                continue
            try:
                reply = conn.recv()
            except EOFError:
                raise SpecRuntimeError("a worker process died (out of memory?)") from None
            out.append(answer(reply, "a worker"))
        return out

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError, BrokenPipeError):
                conn.send(("stop", None))
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()


class InProcessPool:
    """Workers in this process, each request handled by one worker after the other: the
    coordinator's very protocol without a fork, so tests can look into the workers and
    benchmarks can measure the engine's own CPU (bench_scale's ``Ns`` mode), free of two
    processes contending for the machine."""

    def __init__(self, n: int, spec: Spec[Any], props: Sequence[Property],
                 fingerprint: Fingerprint, opts: dict[str, Any]) -> None:
        self.size = n
        self.workers = [Worker(w, n, spec, props, fingerprint, None, opts) for w in range(n)]

    def ask(self, requests: Sequence[tuple[str, Any] | None]) -> list[Any]:
        """Hand each worker its request (None: nothing), in turn."""
        out: list[Any] = []
        for worker, req in zip(self.workers, requests, strict=True):
            if req is None:
                out.append(None)
                continue
            out.append(answer(worker.handle(*req), "a worker"))
        return out

    def close(self) -> None:
        """Nothing to stop."""


class Timed:
    """A pool that notes which workers each round of requests went to, so that the
    workers' CPU seconds per request (their ``timeline``) give the run's critical path:
    per round, the busiest worker's CPU, since the others wait for it at the barrier.
    On an idle machine with a core per worker, that (plus the coordinator's own CPU)
    is the wall time; the rest of each worker's round is its wait."""

    def __init__(self, pool: Pool) -> None:
        self.pool, self.size = pool, pool.size
        self.rounds: list[list[bool]] = []

    def ask(self, requests: Sequence[tuple[str, Any] | None]) -> list[Any]:
        self.rounds.append([r is not None for r in requests])
        return self.pool.ask(requests)

    def close(self) -> None:
        self.pool.close()

    def figures(self) -> dict[str, Any]:
        """``critical_cpu`` (seconds) and per worker ``wait_cpu``: the CPU seconds the
        busiest worker of each round spent beyond this one's."""
        rounds = self.rounds
        lines = self.pool.ask([("timeline", None)] * self.size)
        at = [0] * self.size
        critical, wait = 0.0, [0.0] * self.size
        for mask in rounds:
            spent = [0.0] * self.size
            for w, asked in enumerate(mask):
                if asked:
                    spent[w] = lines[w][at[w]]
                    at[w] += 1
            top = max(spent)
            critical += top
            for w in range(self.size):
                wait[w] += top - spent[w]
        return {"critical_cpu": critical, "wait_cpu": wait}
