"""Paxos.tla with MaxBallot 2 (185,369 distinct states), every property on.

Prints distinct/generated/depth, wall and CPU seconds and states per second, next to
TLC's figures on this machine kind (1 worker: 18.8 s with invariants off, 64.8 s on).
Run: python benchmarks/bench_paxos.py [--max-ballot N] [--repeat K]
"""

from __future__ import annotations

import argparse
import time

from agree.checker.run import check
from agree.models.paxos import Paxos
from agree.properties.paxos import PROPERTIES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-ballot", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-properties", action="store_true")
    args = parser.parse_args()
    props = () if args.no_properties else PROPERTIES
    print(f"Paxos acceptors=3 values=2 max_ballot={args.max_ballot}, "
          f"{len(props)} properties on")
    for _ in range(args.repeat):
        cpu = time.process_time()
        r = check(Paxos(3, 2, args.max_ballot), props)
        cpu = time.process_time() - cpu
        print(f"  {r.verdict}: distinct {r.distinct:,}  generated {r.generated:,}  "
              f"depth {r.depth}  wall {r.seconds:.1f} s  cpu {cpu:.1f} s  "
              f"{r.distinct / r.seconds:,.0f} states/s")
    print("  TLC, 1 worker, same machine kind: 18.8 s (invariants off), 64.8 s (on)")


if __name__ == "__main__":
    main()
