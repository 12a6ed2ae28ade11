"""Find, by search, the smallest configuration in which each bug-zoo variant fails.

For each variant, configurations are tried in increasing size (fewer servers or
acceptors first, then the sum of the bounds, then each bound) with the
exhaustive checker, every safety property on, under a time budget per
configuration (the protocol's SAFETY properties: for Paxos agreement and
validity, not the conjuncts of the inductive invariant). The first
configuration with a violation is printed with the property violated first,
the trace length and the states explored; a
configuration that runs out of budget is reported as such and the search goes
on. Usage:

    python benchmarks/zoo_search.py [NAME ...] [--budget SECONDS] [--max-configs N]
                                    [--max-servers N]
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Iterator
from typing import Any

from agree.checker.run import check
from agree.protocols import registry

#: Raft configurations tried: every bound combination whose sum is at most this.
MAX_SUM = 8


def raft_configs(restarts: bool) -> Iterator[dict[str, Any]]:
    """Raft configurations, smallest first. Restart only where the bug needs it
    (max_restarts 0 removes it: an honest tightening for the other bugs)."""
    grid = []
    for servers, term, log, msgs, rs in itertools.product(
            (1, 2, 3), (2, 3, 4, 5), (0, 1, 2, 3), (1, 2, 3), (1, 2) if restarts else (0,)):
        if term + log + msgs + rs > MAX_SUM:
            continue
        grid.append(((servers, term + log + msgs + rs, term, log, msgs, rs),
                     dict(servers=servers, values=1, max_term=term, max_log=log,
                          max_messages=msgs, max_restarts=rs)))
    for _, cfg in sorted(grid, key=lambda g: g[0]):
        yield cfg


def paxos_configs() -> Iterator[dict[str, Any]]:
    """Paxos configurations, smallest first."""
    for acceptors, ballot, values in itertools.product((1, 2, 3), (0, 1, 2, 3), (2,)):
        yield dict(acceptors=acceptors, values=values, max_ballot=ballot)


#: variant -> (configurations, extra parameters tried per configuration)
SEARCH: dict[str, tuple[Any, tuple[dict[str, Any], ...]]] = {
    "raft-forget-vote": (lambda: raft_configs(True), ({},)),
    "raft-forget-term": (lambda: raft_configs(True), ({},)),
    "raft-leader-ignores-term": (lambda: raft_configs(False), ({},)),
    "raft-stale-votes": (lambda: raft_configs(False), ({},)),
    "raft-vote-any-log": (lambda: raft_configs(False), ({}, {"history": True})),
    "raft-commit-old-term": (lambda: raft_configs(False), ({}, {"history": True})),
    "raft-truncate-on-stale-append": (lambda: raft_configs(False), ({}, {"history": True})),
    "raft-commit-past-entries": (lambda: raft_configs(False), ({}, {"history": True})),
    "paxos-accept-below-promise": (paxos_configs, ({},)),
    "paxos-amnesia": (paxos_configs, ({},)),
    "paxos-wrong-value": (paxos_configs, ({},)),
    "paxos-2b-keeps-promise": (paxos_configs, ({},)),
}


def search(name: str, budget: float, max_configs: int, max_servers: int = 3) -> None:
    """Try configurations for one variant in increasing size; print what was found."""
    configs, extras = SEARCH[name]
    entry = registry.get(name)
    cls = entry.spec_class()
    module = entry.properties.partition(":")[0]
    safety = list(registry._import(module + ":SAFETY"))  # the protocol's safety properties
    started = time.perf_counter()
    for n, (base, extra) in enumerate(itertools.product(configs(), extras)):
        if n >= max_configs:
            print(f"{name}: not found in the first {max_configs} configurations "
                  f"({time.perf_counter() - started:.0f} s)")
            return
        if base.get("servers", base.get("acceptors", 0)) > max_servers:
            continue
        params = {**base, **extra}
        result = check(cls(**params), safety, time_limit=budget)
        if result.violations:
            v = min(result.violations, key=lambda v: len(v.trace or ()))
            others = sorted({w.property for w in result.violations} - {v.property})
            also = f" also {others}" if others else ""
            print(f"{name}: FOUND {v.property} in {len(v.trace or ())} steps with {params} "
                  f"({result.distinct:,} states, {result.seconds:.1f} s; search "
                  f"{time.perf_counter() - started:.0f} s){also}", flush=True)
            return
        status = "holds" if result.complete else f"budget ({result.distinct:,} states)"
        print(f"  {name}: {params}: {status}, {result.seconds:.1f} s", flush=True)
    print(f"{name}: not found in any configuration tried")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="variants (default: all)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per configuration")
    parser.add_argument("--max-configs", type=int, default=200)
    parser.add_argument("--max-servers", type=int, default=3,
                        help="try at most this many servers / acceptors")
    args = parser.parse_args()
    for name in args.names or list(SEARCH):
        search(name, args.budget, args.max_configs, args.max_servers)


if __name__ == "__main__":
    main()
