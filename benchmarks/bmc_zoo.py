"""`agree bmc` on every Raft zoo variant: the command, the depth of the violation found,
and the seconds it took.

Each variant is run in the smallest configuration that shows its bug (the params of its
explicit trace in traces/golden/ or traces/zoo_deep/), at the depth of that trace (the
shortest counterexample from Init: one query, depth steps of Next-or-stutter). The three
deepest ones, out of reach from Init within 15 minutes here, are searched ``--from`` a
prefix of K steps that the *correct* Raft takes: figure 8 from
traces/zoo_deep/prefix/ (the prefix `agree check --from` uses), the other two from the
first K steps of their explicit trace replayed on correct Raft (written to a temporary
folder; K is below the longest prefix they share with Raft). ``--init`` runs every
variant from Init instead. One Z3 run at a time, each in a fresh process. Usage:

    python benchmarks/bmc_zoo.py [--timeout S] [--init] [NAME ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ("servers", "values", "max_term", "max_log", "max_messages", "max_restarts")
#: name -> (trace file of the explicit counterexample, --from prefix or None, prefix steps).
RUNS: dict[str, tuple[str, str | None, int]] = {
    "raft-leader-ignores-term": ("golden/raft-leader-ignores-term.one_leader_per_term.json",
                                 None, 0),
    "raft-stale-votes": ("golden/raft-stale-votes.election_safety.json", None, 0),
    "raft-forget-vote": ("zoo_deep/raft-forget-vote.election_safety.json", None, 0),
    "raft-forget-term": ("zoo_deep/raft-forget-term.election_safety.json", None, 0),
    "raft-commit-past-entries": ("zoo_deep/raft-commit-past-entries.commit_index_in_log.json",
                                 None, 0),
    "raft-vote-any-log": ("zoo_deep/raft-vote-any-log.leader_completeness.json",
                          "own", 12),
    "raft-truncate-on-stale-append": (
        "zoo_deep/raft-truncate-on-stale-append.leader_completeness.json", "own", 14),
    "raft-commit-old-term": ("zoo_deep/raft-commit-old-term.leader_completeness.json",
                             "zoo_deep/prefix/raft-commit-old-term.json", 31),
}


def own_prefix(name: str, k: int, folder: Path) -> str:
    """The first k steps of the variant's explicit trace, replayed on correct Raft, as a
    trace file of ``raft`` (fails if Raft does not take them)."""
    from agree.checker.start_from import prefix_trace
    from agree.protocols import registry
    from agree.traces.trace import load_trace, save_trace
    tr = load_trace(ROOT / "traces" / RUNS[name][0], registry.resolve)
    raft, _ = registry.build("raft", tr.params)
    path = folder / f"{name}.prefix.json"
    save_trace(prefix_trace(tr, k, raft), path)
    return str(path)


def command(name: str, folder: Path, from_init: bool = False) -> list[str]:
    """The `agree bmc` command line for one variant."""
    trace, prefix, k = RUNS[name]
    if from_init:
        prefix, k = None, 0
    data = json.loads((ROOT / "traces" / trace).read_text())
    depth = len(data["steps"]) - k
    cmd = ["agree", "bmc", name, "--depth", str(depth), "--json"]
    for p in PARAMS:
        cmd += [f"--{p.replace('_', '-')}", str(data["params"][p])]
    if prefix == "own":
        cmd += ["--from", f"{own_prefix(name, k, folder)}:{k}"]
    elif prefix is not None:
        cmd += ["--from", f"traces/{prefix}:{k}"]
    return cmd


def main(argv: list[str]) -> int:
    timeout = 1800.0
    if argv[:1] == ["--timeout"]:
        timeout, argv = float(argv[1]), argv[2:]
    from_init = "--init" in argv
    names = [a for a in argv if a != "--init"] or list(RUNS)
    import z3  # type: ignore[import-untyped]
    print(f"z3 {z3.get_full_version()}")
    folder = Path(tempfile.mkdtemp(prefix="bmc_zoo."))
    for name in names:
        cmd = command(name, folder, from_init)
        cmd[cmd.index("--json"):cmd.index("--json") + 1] = ["--json", "--timeout",
                                                            str(timeout)]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        shown = " ".join(c for c in cmd if c != "--json")
        try:
            out = json.loads(done.stdout)
        except json.JSONDecodeError:
            print(f"{name}: exit {done.returncode} {done.stderr.strip()[-200:]}\n  {shown}")
            continue
        steps = len(out["trace"]["steps"]) if out.get("trace") else None
        where = (f"after a replayed prefix of {out['from']['replayed_steps']} steps"
                 if "from" in out else "from Init")
        print(f"{name}: {out['verdict']} {out['property'] or ''} depth {out['reached']} "
              f"{where} (trace {steps} steps from Init), z3 {out['seconds']:.1f} s, "
              f"wall {wall:.1f} s, exit {done.returncode}\n  {shown}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
