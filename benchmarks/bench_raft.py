"""Raft's three reference configurations (shared/reference/tlc-counts.md), every property on.

Prints distinct states, states generated, depth, seconds and states per second
beside TLC's figures (one worker, same machine kind). Usage:

    python benchmarks/bench_raft.py [--only 1,2,3] [--no-properties]
"""

from __future__ import annotations

import argparse

from agree.checker.explore import check
from agree.models.raft import Raft
from agree.properties.raft import PROPERTIES

#: (parameters, TLC distinct, TLC generated, TLC depth, TLC seconds with 1 worker)
CONFIGS = [
    (dict(servers=2, values=1, max_term=2, max_log=1, max_messages=2),
     25_164, 239_037, 33, 6.2),
    (dict(servers=3, values=1, max_term=2, max_log=0, max_messages=1),
     705_532, 8_683_474, 39, 107.0),
    (dict(servers=3, values=1, max_term=2, max_log=1, max_messages=1),
     2_379_781, 28_169_044, 53, 372.0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="1,2,3", help="which configurations (1-based)")
    parser.add_argument("--no-properties", action="store_true", help="check nothing")
    args = parser.parse_args()
    chosen = [int(x) for x in args.only.split(",")]
    print(f"{'configuration':<44} {'distinct':>10} {'generated':>11} {'depth':>5} "
          f"{'seconds':>8} {'states/s':>9} {'TLC s':>6}  match")
    for n, (params, distinct, generated, depth, tlc_s) in enumerate(CONFIGS, 1):
        if n not in chosen:
            continue
        result = check(Raft(**params), [] if args.no_properties else PROPERTIES)
        same = (result.distinct, result.generated, result.depth) == (distinct, generated, depth)
        label = " ".join(f"{k}={v}" for k, v in params.items() if k != "values")
        bad = [v.property for v in result.violations]
        print(f"{label:<44} {result.distinct:>10,} {result.generated:>11,} {result.depth:>5} "
              f"{result.seconds:>8.1f} {result.states_per_second:>9,.0f} {tlc_s:>6.1f}  "
              f"{'TLC-equal' if same else 'DIFFERENT'}{' violated: ' + str(bad) if bad else ''}",
              flush=True)


if __name__ == "__main__":
    main()
