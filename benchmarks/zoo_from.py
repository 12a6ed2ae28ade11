"""The two Raft zoo bugs beyond exhaustive search from Init, found by search from a prefix.

For each, the scenario of ``zoo_scenarios.py`` is cut to its first K steps, K no more than
the longest prefix that the *correct* Raft (models/raft.py, same parameters) takes to the
very same states: the prefix is a behaviour of Raft itself and holds none of the bug.
That prefix is saved as a trace of ``raft`` (``traces/zoo_deep/prefix/NAME.json``) and

    agree check NAME --symmetry --from traces/zoo_deep/prefix/NAME.json \\
        --invariant PROPERTY --trace-out traces/zoo_deep/NAME.PROPERTY.json

searches exhaustively from the state it reaches; the steps after the prefix, the buggy
ones included, are the checker's (a shortest suffix from there). K was lowered step by
step (each step back costs ~1.3x the states) while the search stayed near two minutes
here. Prints the figures; usage:

    python benchmarks/zoo_from.py [NAME ...]
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from zoo_scenarios import SCENARIOS, build

from agree.checker.start_from import common_prefix, prefix_trace
from agree.cli.main import main as agree
from agree.models.raft import Raft
from agree.traces.trace import save_trace

DEEP = Path(__file__).resolve().parent.parent / "traces" / "zoo_deep"
#: name -> K, the prefix length searched from.
PREFIX_STEPS = {"raft-commit-old-term": 31, "raft-truncate-on-stale-append": 11}


def run(name: str) -> None:
    scenario = build(name)
    raft = Raft(**scenario.params)
    shared = common_prefix(scenario, raft)
    k = PREFIX_STEPS[name]
    assert k <= shared, f"{name}: the correct Raft leaves the scenario after step {shared}"
    (DEEP / "prefix").mkdir(parents=True, exist_ok=True)
    prefix = DEEP / "prefix" / f"{name}.json"
    save_trace(prefix_trace(scenario, k, raft), prefix)
    out = DEEP / f"{name}.{scenario.property}.json"
    start, buf = time.time(), io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = agree(["check", name, "--symmetry", "--from", str(prefix), "--invariant",
                      str(scenario.property), "--trace-out", str(out), "--quiet", "--json"])
    doc = json.loads(buf.getvalue())
    found = doc["start"]["found_steps"]
    print(f"{name}: scenario {len(scenario)} steps, the correct Raft shares its first "
          f"{shared}; prefix {k} steps -> {prefix.relative_to(DEEP.parent.parent)}")
    print(f"  exit {code} ({doc['verdict']}): {doc['distinct']:,} orbits, "
          f"{doc['generated']:,} states generated, depth {doc['depth']}, "
          f"{doc['seconds']:.0f} s ({time.time() - start:.0f} s with loading)")
    if found:
        print(f"  trace {k + found[0]} steps, the last {found[0]} found by search -> "
              f"{out.relative_to(DEEP.parent.parent)}")


def main() -> None:
    for name in sys.argv[1:] or list(SCENARIOS):
        run(name)


if __name__ == "__main__":
    main()
