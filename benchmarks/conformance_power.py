"""The conformance harness's power: seeded implementation bugs, caught or not.

Each seeded bug (checker/conformance/raft_bugs.py, paxos_machine.py) is applied
by monkeypatching impl/ and the Hypothesis conformance machine runs, without
shrinking, until the first failure or until the example budget is spent. Runs
once derandomized (what CI runs) and once per seed given.

    python benchmarks/conformance_power.py [--budget-raft 150] [--budget-paxos 100]
                                           [--seeds 1 2 3]

Prints per bug and run: caught or not, examples to the failure, seconds; then the
catch rate and the median time to catch.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time

from agree.conformance.paxos_machine import paxos_machine
from agree.conformance.power import measure
from agree.conformance.raft_machine import raft_machine
from agree.protocols import registry


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-raft", type=int, default=150)
    ap.add_argument("--budget-paxos", type=int, default=100)
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3])
    args = ap.parse_args()
    runs: list[int | None] = [None, *args.seeds]
    rows = []
    start = time.perf_counter()
    for protocol, bugs, factory, budget in (
            ("raft", registry.get("raft").protocol.seeded_bugs(), raft_machine,
             args.budget_raft),
            ("paxos", registry.get("paxos").protocol.seeded_bugs(), paxos_machine,
             args.budget_paxos)):
        for bug in bugs:
            for seed in runs:
                with contextlib.redirect_stdout(io.StringIO()):
                    c = measure(factory(), bug.name, budget, seed)
                rows.append((protocol, c))
                run = "derandomized" if seed is None else f"seed {seed}"
                verdict = "CAUGHT" if c.caught else "missed"
                print(f"{protocol:<6} {bug.name:<24} {run:<13} {verdict:<7} "
                      f"{c.examples:>4} examples {c.seconds:7.2f}s", flush=True)
    caught = [c for _, c in rows if c.caught]
    print()
    print(f"catch rate: {len(caught)}/{len(rows)} runs "
          f"({len({c.bug for c in caught})}/{len({c.bug for _, c in rows})} bugs caught in "
          f"at least one run; budgets: raft {args.budget_raft}, paxos {args.budget_paxos} "
          "examples)")
    if caught:
        print(f"time to catch: median {statistics.median(c.seconds for c in caught):.2f}s, "
              f"max {max(c.seconds for c in caught):.2f}s; examples to catch: median "
              f"{statistics.median(c.examples for c in caught):.0f}, "
              f"max {max(c.examples for c in caught)}")
    print(f"total {time.perf_counter() - start:.1f}s")
    return 0 if len(caught) == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
