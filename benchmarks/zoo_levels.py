"""States per breadth-first level, in orbits, up to a zoo variant's violation (or a budget).

Measures whether exhaustive search can reach a deep counterexample: each level's new
orbits, the total, the states generated and the rate, printed as the level ends.
``--no-drop`` / ``--no-duplicate`` remove DropMessage / DuplicateMessage on this
instance only (an environment restriction for measurement: the spec has no such
parameter). The entry's ``breaks`` property is checked on every successor. Usage:

    python benchmarks/zoo_levels.py raft-truncate-on-stale-append \\
        --params '{"max_messages": 2}' --no-drop --no-duplicate --budget 300
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from agree.checker.symmetry import orbit_fingerprint
from agree.protocols import registry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name")
    ap.add_argument("--params", default="{}", help="JSON object over the entry's defaults")
    ap.add_argument("--no-drop", action="store_true")
    ap.add_argument("--no-duplicate", action="store_true")
    ap.add_argument("--max-depth", type=int, default=100)
    ap.add_argument("--budget", type=float, default=600.0, help="seconds; checked per level")
    args = ap.parse_args()
    spec, props = registry.build(args.name, json.loads(args.params))
    never: Any = lambda _s, _m: None  # noqa: E731
    if args.no_drop:
        spec.drop_message = never  # type: ignore[attr-defined]
    if args.no_duplicate:
        spec.duplicate_message = never  # type: ignore[attr-defined]
    spec.__dict__.pop("_bound_actions", None)  # rebind the actions to the patched methods
    prop = next(p for p in props if p.name == registry.get(args.name).breaks)
    print(f"{args.name} {spec.param_values()} drop={not args.no_drop} "
          f"duplicate={not args.no_duplicate}; property {prop.name}", flush=True)
    fingerprint = orbit_fingerprint(spec)
    frontier = list(spec.init())
    seen = {fingerprint(s) for s in frontier}
    start, generated = time.time(), 0
    for depth in range(1, args.max_depth + 1):
        level = []
        for s in frontier:
            for t in spec.successors(s):
                generated += 1
                if not prop.holds(spec, t.state):
                    print(f"violated at step {depth}: {len(seen):,} orbits, "
                          f"{time.time() - start:.0f} s")
                    return
                if spec.constraint(t.state):
                    fp = fingerprint(t.state)
                    if fp not in seen:
                        seen.add(fp)
                        level.append(t.state)
        frontier = level
        spent = time.time() - start
        print(f"step {depth:3d}  new {len(level):>10,}  total {len(seen):>11,}  "
              f"generated {generated:>12,}  {spent:6.0f} s  {len(seen) / spent:7.0f} orbits/s",
              flush=True)
        if not level or spent > args.budget:
            return


if __name__ == "__main__":
    main()
