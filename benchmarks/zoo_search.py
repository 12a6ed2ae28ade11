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
                                    [--max-servers N] [--write-docs] [--recorded]

``--write-docs`` writes docs/benchmarks/zoo.md: the variants searched in this run, and
the recorded findings of the others; ``--recorded`` writes it from the recorded ones only.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Iterator
from typing import Any

from report import Provenance, Table, write_page

from agree.checker.run import check
from agree.protocols import registry
from agree.protocols.bundle import resolve_ref

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


#: A protocol's configurations, smallest first (given whether to try restarts).
CONFIGS: dict[str, Any] = {"raft": raft_configs, "paxos": lambda restarts: paxos_configs()}


def search_space(entry: registry.SpecEntry) -> tuple[Iterator[dict[str, Any]],
                                                     tuple[dict[str, Any], ...]]:
    """The configurations tried for a variant, and the extra parameters tried with each:
    restarts only where its bug needs them, the proof-only history of committed entries
    only where it is about entries (as its defaults, the configuration found, show)."""
    defaults = dict(entry.defaults)
    configs = CONFIGS[entry.protocol.name](defaults.get("max_restarts", 0) > 0)
    extras: tuple[dict[str, Any], ...] = ({},)
    if "history" in {p.name for p in entry.spec_class().parameters()} \
            and defaults.get("max_log", 0) > 0:
        extras = ({}, {"history": True})
    return configs, extras


#: The variants searched (the bug zoo's).
SEARCH = [e.name for e in registry.entries() if e.group == "zoo"]


COLUMNS = ["entry", "breaks", "smallest failing configuration", "counterexample",
           "how found"]
#: What the search found, as recorded at commit be42c27 (2026-11-26), 60 s budget per
#: configuration on the shared 2-core machine; the last three rows were found otherwise
#: (the vote-any-log row: commit 0e99d85; the --from rows: commit 3006061).
RECORDED = {
    "raft-leader-ignores-term": ["one_leader_per_term", "2 servers, max term 3, max log 0, "
                                 "1 message, no restart", "18 steps", "search (2,723 states)"],
    "raft-stale-votes": ["election_safety", "2 servers, max term 3, max log 0, 1 message, "
                         "no restart", "18 steps", "search (4,180 states)"],
    "raft-forget-vote": ["election_safety", "3 servers, max term 2, max log 0, 1 message, "
                         "1 restart", "18 steps", "search (225,451 states)"],
    "raft-forget-term": ["election_safety", "3 servers, max term 2, max log 0, 1 message, "
                         "1 restart", "19 steps", "search (394,124 states)"],
    "raft-commit-past-entries": ["commit_index_in_log", "3 servers, max term 2, max log 2, "
                                 "1 message, no restart", "24 steps",
                                 "search (589,437 states)"],
    "paxos-accept-below-promise": ["agreement", "1 acceptor, 2 values, ballots 0..1",
                                   "8 steps", "search (52 states)"],
    "paxos-amnesia": ["agreement", "1 acceptor, 2 values, ballots 0..1", "9 steps",
                      "search (138 states)"],
    "paxos-wrong-value": ["agreement", "3 acceptors, 2 values, ballots 0..2", "17 steps",
                          "search (130,216 states)"],
    "paxos-2b-keeps-promise": ["agreement", "3 acceptors, 2 values, ballots 0..2",
                               "17 steps", "search (311,504 states)"],
    "raft-vote-any-log": ["leader_completeness", "3 servers, max term 3, max log 1, "
                          "1 message, no restart", "25 steps",
                          "`agree check --symmetry` (488,524 orbits, 6 min)"],
    "raft-truncate-on-stale-append": ["leader_completeness", "3 servers, max term 3, "
                                      "max log 1, 2 messages, no restart", "26 steps",
                                      "`--symmetry --from` an 11-step correct-Raft prefix "
                                      "([zoo-from](zoo-from.md))"],
    "raft-commit-old-term": ["leader_completeness", "3 servers, max term 5, max log 1, "
                             "1 message, no restart", "54 steps",
                             "`--symmetry --from` a 31-step correct-Raft prefix "
                             "([zoo-from](zoo-from.md); figure 8)"],
}


def write_docs(found: dict[str, list[object]]) -> None:
    """zoo.md: the variants searched now, then the recorded rows of the others."""
    tables = []
    if found:
        tables.append(Table("Searched now", Provenance.now(), COLUMNS,
                            [[f"`{n}`", *row] for n, row in found.items()]))
    old = [[f"`{n}`", *row] for n, row in RECORDED.items() if n not in found]
    if old:
        tables.append(Table("Recorded", Provenance.recorded(
            "be42c27", "2026-11-26", "on the shared 2-core machine, 60 s per configuration "
            "(the vote-any-log row at 0e99d85, the `--from` rows at 3006061)"), COLUMNS, old))
    write_page("zoo", "The bug zoo: smallest failing configurations",
               "For each zoo variant, configurations are tried smallest first (fewer "
               "servers or acceptors, then smaller bounds) with the exhaustive checker and "
               "the protocol's safety properties, under a time budget per configuration; "
               "the first with a violation is the entry's default. \"Smallest\" is not "
               "confirmed for the variants found from a prefix.", tables,
               "python benchmarks/zoo_search.py --write-docs")


def _config_text(params: dict[str, Any]) -> str:
    if "acceptors" in params:
        return (f"{params['acceptors']} acceptors, {params['values']} values, "
                f"ballots 0..{params['max_ballot']}")
    restarts = params.get("max_restarts", 0)
    return (f"{params['servers']} servers, max term {params['max_term']}, max log "
            f"{params['max_log']}, {params['max_messages']} message(s), "
            + (f"{restarts} restart(s)" if restarts else "no restart")
            + (", history" if params.get("history") else ""))


def search(name: str, budget: float, max_configs: int,
           max_servers: int = 3) -> list[object] | None:
    """Try configurations for one variant in increasing size; print what was found and
    return it as a row of the docs table (None if nothing was found)."""
    entry = registry.get(name)
    configs, extras = search_space(entry)
    cls = entry.spec_class()
    module = entry.properties.partition(":")[0]
    safety = list(resolve_ref(module + ":SAFETY"))  # the protocol's safety properties
    started = time.perf_counter()
    for n, (base, extra) in enumerate(itertools.product(configs, extras)):
        if n >= max_configs:
            print(f"{name}: not found in the first {max_configs} configurations "
                  f"({time.perf_counter() - started:.0f} s)")
            return None
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
            return [v.property, _config_text(params), f"{len(v.trace or ())} steps",
                    f"search ({result.distinct:,} states)"]
        status = "holds" if result.complete else f"budget ({result.distinct:,} states)"
        print(f"  {name}: {params}: {status}, {result.seconds:.1f} s", flush=True)
    print(f"{name}: not found in any configuration tried")
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="variants (default: all)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per configuration")
    parser.add_argument("--max-configs", type=int, default=200)
    parser.add_argument("--max-servers", type=int, default=3,
                        help="try at most this many servers / acceptors")
    parser.add_argument("--write-docs", action="store_true",
                        help="write docs/benchmarks/zoo.md from this run")
    parser.add_argument("--recorded", action="store_true",
                        help="search nothing; write zoo.md from the recorded findings")
    args = parser.parse_args()
    found = {}
    for name in [] if args.recorded else args.names or list(SEARCH):
        row = search(name, args.budget, args.max_configs, args.max_servers)
        if row is not None:
            found[name] = row
    if args.write_docs or args.recorded:
        write_docs(found)


if __name__ == "__main__":
    main()
