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

    python benchmarks/bmc_zoo.py [--timeout S] [--init] [--write-docs] [--recorded] [NAME ...]

``--write-docs`` writes docs/benchmarks/bmc-raft.md from this run and the recorded
figures of the variants not run; ``--recorded`` writes it from the recorded ones only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import Provenance, Table, write_page

from agree.protocols import registry

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ("servers", "values", "max_term", "max_log", "max_messages", "max_restarts")


def _runs() -> dict[str, tuple[str, str | None, int]]:
    """name -> (trace file of the explicit counterexample, --from prefix ("own": the
    first steps of that trace) or None, prefix steps), for every Raft zoo variant
    (protocols/catalog.py: ZooVariant.bmc_from), smallest and shallowest first."""
    runs = {}
    for e in registry.get("raft").protocol.entries():
        if e.variant is None:
            continue
        found = f"{e.name}.{e.breaks}.json"
        trace = f"golden/{found}" if (ROOT / "traces/golden" / found).is_file() \
            else f"zoo_deep/{found}"
        k = e.variant.bmc_from
        prefix: str | None = None
        if k:
            stored = f"zoo_deep/prefix/{e.name}.json"
            path = ROOT / "traces" / stored
            prefix = (stored if path.is_file()
                      and len(json.loads(path.read_text())["steps"]) == k else "own")
        runs[e.name] = (trace, prefix, k)

    def size(name: str) -> tuple[int, int]:
        data = json.loads((ROOT / "traces" / runs[name][0]).read_text())
        return data["params"]["servers"], len(data["steps"])

    return {name: runs[name] for name in sorted(runs, key=size)}


#: name -> (trace file of the explicit counterexample, --from prefix or None, prefix steps).
RUNS = _runs()


def own_prefix(name: str, k: int, folder: Path) -> str:
    """The first k steps of the variant's explicit trace, replayed on correct Raft, as a
    trace file of ``raft`` (fails if Raft does not take them)."""
    from agree.checker.start_from import prefix_trace
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


COLUMNS = ["variant", "configuration", "depth", "verdict", "Z3 time"]
#: One query at the depth of the explicit trace, z3 5.4.1.0, measured at commit ae9b6fc
#: (2026-11-27) on 2 cores shared with another Z3 job.
RECORDED = {
    "raft-leader-ignores-term": ["2 servers, term 3, log 0, msgs 1", "18 from Init",
                                 "violated", "4.2 s"],
    "raft-stale-votes": ["2 servers, term 3, log 0, msgs 1", "18 from Init", "violated",
                         "14.0 s"],
    "raft-forget-vote": ["3 servers, term 2, log 0, msgs 1, restarts 1", "18 from Init",
                         "violated", "32.0 s"],
    "raft-forget-term": ["3 servers, term 2, log 0, msgs 1, restarts 1", "19 from Init",
                         "violated", "29.1 s"],
    "raft-commit-past-entries": ["3 servers, term 2, log 2, msgs 1", "24 from Init",
                                 "violated", "148.5 s"],
    "raft-vote-any-log": ["3 servers, term 3, log 1, msgs 1", "12 replayed + 13 searched",
                          "violated", "95.0 s"],
    "raft-truncate-on-stale-append": ["3 servers, term 3, log 1, msgs 2",
                                      "14 replayed + 12 searched", "violated", "117.0 s"],
    "raft-commit-old-term": ["3 servers, term 5, log 1, msgs 1",
                             "31 replayed + 23 searched", "violated", "401.6 s"],
}


def config_text(params: dict[str, int]) -> str:
    """A configuration as it reads in the docs table."""
    text = (f"{params['servers']} servers, term {params['max_term']}, log "
            f"{params['max_log']}, msgs {params['max_messages']}")
    return text + (f", restarts {params['max_restarts']}" if params["max_restarts"] > 0
                   else "")


def write_docs(rows: dict[str, list[object]]) -> None:
    """bmc-raft.md: the variants run now, then the recorded rows of the others."""
    tables = [Table("Measured now", Provenance.now(), COLUMNS,
                    [[n, *r] for n, r in rows.items()])] if rows else []
    old = [[n, *r] for n, r in RECORDED.items() if n not in rows]
    if old:
        tables.append(Table("Recorded", Provenance.recorded(
            "ae9b6fc", "2026-11-27", "with z3 5.4.1.0 on 2 cores shared with another Z3 "
            "job"), COLUMNS, old))
    write_page("bmc-raft", "Raft BMC on the zoo",
               "`agree bmc` on every Raft zoo variant: one query at the depth of the "
               "explicit counterexample (the shortest one), in its configuration; the "
               "three deepest after a prefix of steps that the correct Raft takes "
               "(`--from`). SAT times vary 2-3x from run to run and with load.", tables,
               "python benchmarks/bmc_zoo.py --write-docs")


def main(argv: list[str]) -> int:
    write = "--write-docs" in argv or "--recorded" in argv
    if "--recorded" in argv:
        write_docs({})
        return 0
    argv = [a for a in argv if a != "--write-docs"]
    rows: dict[str, list[object]] = {}
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
        data = json.loads((ROOT / "traces" / RUNS[name][0]).read_text())
        depth = (f"{out['from']['replayed_steps']} replayed + {out['reached']} searched"
                 if "from" in out else f"{out['reached']} from Init")
        rows[name] = [config_text(data["params"]), depth, out["verdict"],
                      f"{out['seconds']:.1f} s"]
    if write:
        write_docs(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
