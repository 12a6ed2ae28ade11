"""`agree bmc` on every Paxos zoo variant and the article's Paxos: the command, the depth
of the violation found, the seconds, the Z3 version; and how the Z3 query is asked.

Each variant runs in the configuration of its explicit counterexample
(traces/golden/ or traces/zoo_deep/), at that trace's depth, each run in a fresh
process, one at a time. Usage:

    python benchmarks/bmc_paxos.py                 # the agree bmc table
    python benchmarks/bmc_paxos.py --solvers       # + solvers on the same single query
    python benchmarks/bmc_paxos.py --incremental   # + agree bmc --incremental
    python benchmarks/bmc_paxos.py --arrays        # + the array encoding (agree prove's)
    python benchmarks/bmc_paxos.py [--timeout S] [flags] [NAME ...]
    python benchmarks/bmc_paxos.py --write-docs    # the table -> docs/benchmarks/bmc-paxos.md

The last row, correct Paxos (3 acceptors, ballots 0..2) to depth 12, has no violation:
there the solver must exhaust the query, which is where solvers differ most.

``--solvers`` builds the single query (Init, depth steps of Next-or-stutter, a safety
property broken at the end) once per solver and times ``check()`` alone: z3.Solver()
(the default), SolverFor("QF_FD"), SolverFor("QF_BV"), and the tactic simplify;
bit-blast; sat as a solver (what agree bmc uses: symbolic/paxos/bmc.py bmc_solver).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from report import Provenance, Table, write_page

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ("acceptors", "values", "max_ballot", "proposers")
RUNS: dict[str, str] = {
    "paxos-accept-below-promise": "golden/paxos-accept-below-promise.agreement.json",
    "paxos-amnesia": "golden/paxos-amnesia.agreement.json",
    "paxos-pid-timestamp": "golden/paxos-pid-timestamp.agreement.json",
    "paxos-article": "golden/paxos-article.agreement.json",
    "paxos-wrong-value": "golden/paxos-wrong-value.agreement.json",
    "paxos-2b-keeps-promise": "zoo_deep/paxos-2b-keeps-promise.agreement.json",
}
SOLVERS = ("default", "QF_FD", "QF_BV", "bit-blast")


#: Correct Paxos, where no violation exists: every solver must exhaust the query.
HOLDS: dict[str, tuple[dict[str, Any], int]] = {
    "paxos": ({"acceptors": 3, "values": 2, "max_ballot": 2}, 17),
}


def config(name: str) -> tuple[dict[str, Any], int]:
    """The explicit counterexample's parameters and length (correct Paxos: a fixed
    configuration and depth)."""
    if name in HOLDS:
        return HOLDS[name]
    data = json.loads((ROOT / "traces" / RUNS[name]).read_text())
    return data["params"], len(data["steps"])


def command(name: str, *flags: str) -> list[str]:
    """The `agree bmc` command line for one variant."""
    params, depth = config(name)
    cmd = ["agree", "bmc", name, "--depth", str(depth)]
    for p in PARAMS:
        if p in params:
            cmd += [f"--{p.replace('_', '-')}", str(params[p])]
    return [*cmd, *flags]


def run_cli(name: str, timeout: float, *flags: str) -> list[object] | None:
    """Run one `agree bmc` command; print and return its figures (None if it failed)."""
    cmd = command(name, *flags)
    t0 = time.perf_counter()
    done = subprocess.run([*cmd, "--json", "--timeout", str(timeout)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    try:
        out = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(f"{name}: exit {done.returncode} {done.stderr.strip()[-200:]}\n  {' '.join(cmd)}")
        return None
    print(f"{name}: {out['verdict']} {out['property'] or ''} depth {out['reached']}, "
          f"z3 {out['seconds']:.1f} s, wall {wall:.1f} s, exit {done.returncode}\n"
          f"  {' '.join(cmd)}", flush=True)
    params, _ = config(name)
    return [name, ", ".join(f"{k} {v}" for k, v in params.items() if k in PARAMS),
            out["reached"], f"{out['verdict']} {out['property'] or ''}".strip(),
            f"{out['seconds']:.1f} s", f"`{' '.join(cmd)}`"]


def solve_once(name: str, mode: str, timeout: float) -> str:
    """One single query asked of one solver (run in a fresh process by ``solvers``)."""
    import z3  # type: ignore[import-untyped]

    from agree.symbolic.paxos.driver import finite_encoding_for
    from agree.symbolic.z3base import solver
    params, depth = config(name)
    t0 = time.perf_counter()
    enc, _ = finite_encoding_for(name, params)
    if mode == "default":
        sv = solver(None)
    elif mode == "bit-blast":
        solver(None)  # the pinned seeds
        sv = z3.Then("simplify", "bit-blast", "sat").solver()
    else:
        solver(None)
        sv = z3.SolverFor(mode)
    sv.set("timeout", int(timeout * 1000))
    states = [enc.fresh_state("0")]
    sv.add(enc.init(states[0]))
    for k in range(1, depth + 1):
        states.append(enc.fresh_state(str(k)))
        sv.add(enc.next_or_stutter(states[-2], states[-1], f"step{k}"))
    sv.add(z3.Or([z3.Not(c.formula) for c in enc.safety(states[-1])]))
    t1 = time.perf_counter()
    r = sv.check()
    t2 = time.perf_counter()
    return f"{r} build {t1 - t0:.2f} s, check {t2 - t1:.2f} s"


def solvers(name: str, timeout: float) -> None:
    _, depth = config(name)
    for mode in SOLVERS:
        done = subprocess.run([sys.executable, __file__, "--solve-once", name, mode,
                               str(timeout)], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        res = done.stdout.strip() or done.stderr.strip()[-200:]
        print(f"  {name} depth {depth} single query, {mode:<9}: {res}", flush=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--solve-once"]:
        print(solve_once(argv[1], argv[2], float(argv[3])))
        return 0
    timeout = 900.0
    if argv[:1] == ["--timeout"]:
        timeout, argv = float(argv[1]), argv[2:]
    flags = {a for a in argv if a.startswith("--")}
    rows: list[list[object]] = []
    names = [a for a in argv if not a.startswith("--")] or [*RUNS, *HOLDS]
    import z3
    print(f"z3 {z3.get_full_version()}")
    for name in names:
        row = run_cli(name, timeout)
        if row is not None:
            rows.append(row)
        if "--incremental" in flags:
            run_cli(name, timeout, "--incremental")
        if "--arrays" in flags:
            run_cli(name, timeout, "--encoding", "arrays")
        if "--solvers" in flags:
            solvers(name, timeout)
    if "--write-docs" in flags:
        write_page("bmc-paxos", "Paxos BMC",
                   "`agree bmc` on every Paxos zoo variant and the article's Paxos, in the "
                   "configuration of its explicit counterexample and at that trace's depth "
                   f"(one query, z3 {z3.get_full_version()}); the last row is correct Paxos, "
                   "where the solver must exhaust the query.",
                   [Table("agree bmc", Provenance.now(),
                          ["spec", "configuration", "depth", "verdict", "Z3 time",
                           "command"], rows)],
                   "python benchmarks/bmc_paxos.py --write-docs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
