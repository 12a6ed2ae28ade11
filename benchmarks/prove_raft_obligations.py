"""Per-obligation time and Z3 statistics of `agree prove raft`, for 3 or 5 servers: where
the obligations of the Raft proof spend their time as the cluster grows.

Each (action, conjunct) obligation is asked as `agree prove` asks it (the whole
invariant and the action's guard imply the conjunct in the next state; by cases where
symbolic/raft/cases.py splits it, whole when a split fails), with a per-query timeout,
and Z3's statistics are read after each ``check()`` (summed over a split's queries):
quantifier instantiations, conflicts, decisions, memory. Results are
appended, one JSON line per obligation, to ``--out`` as they come, so a run stopped
by its overall budget (``timeout 600``) keeps what it measured. Usage:

    python benchmarks/prove_raft_obligations.py --servers 5 --part election \
        --timeout 20 --out /tmp/raft5.jsonl
    python benchmarks/prove_raft_obligations.py --write-docs /tmp/raft3.jsonl /tmp/raft5.jsonl

``--write-docs`` summarises such files into docs/benchmarks/prove-raft-servers.md
(the provenance is the one recorded by the run that measured them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import z3
from report import Provenance, Table, write_page

from agree.symbolic.prove import by_cases
from agree.symbolic.raft.cases import INSTANCED
from agree.symbolic.raft.driver import raft_encoding_for
from agree.symbolic.z3base import Case, solver, z3_version

STATS = ("quant instantiations", "conflicts", "decisions", "memory")


def _stats(sv: z3.Solver) -> dict[str, float]:
    st = sv.statistics()
    out = {k: 0.0 for k in STATS}
    for key in st.keys():  # noqa: SIM118 (z3 Statistics: no __contains__ iteration)
        if key in STATS:
            out[key] = float(st.get_key_value(key))
        elif key == "max memory":
            out["memory"] = float(st.get_key_value(key))
    return out


def measure(servers: int, part: str, timeout: float, out: Path, actions: list[str],
            conjuncts: list[str] | None = None) -> None:
    """Ask every obligation (of ``actions`` and ``conjuncts``, if given), one at a time,
    appending a JSON line each."""
    enc = raft_encoding_for("raft", servers=servers, values=None, proof=True,
                            params={"max_restarts": -1}, part=part)
    s = enc.fresh_state("s")
    hyp = [*enc.axioms(), *(c.formula for c in enc.invariants(s))]
    prov = Provenance.now().text
    inv = enc.invariants(s)
    jobs: list[tuple[str, str, list[Any], Any, list[Case] | None, list[Any]]] = []
    for c in inv:
        jobs.append(("Init", c.name, [*enc.axioms(), enc.init(s)], c.formula, None, []))
    for label in enc.action_labels():
        if actions and label not in actions:
            continue
        guard, t = enc.update(label, s, "p")
        for c in enc.invariants(t):
            jobs.append((label, c.name, [*hyp, guard], c.formula,
                         enc.cases(label, c.name, s, t, "p", c.formula),
                         [*enc.axioms(), guard]))
        for c in enc.step_safety(s, t):  # action properties, over the step
            jobs.append((label, c.name, [*hyp, guard], c.formula, None, []))
    for c in enc.safety(s):
        jobs.append(("Inv =>", c.name, hyp, c.formula,
                     enc.cases(None, c.name, s, None, "", c.formula), enc.axioms()))
    if conjuncts:
        jobs = [j for j in jobs if j[1] in conjuncts]
    with out.open("a") as f:
        for label, name, facts, goal, cases, base in jobs:
            # As `agree prove` asks: by cases where the encoding splits the
            # obligation (statistics summed over the cases' solvers), else, or when
            # the split fails, whole.
            stats: list[dict[str, float]] = []
            t0 = time.perf_counter()
            r = z3.unknown
            if cases and by_cases(base, inv, goal, cases, timeout,
                                  lambda sv, stats=stats: stats.append(_stats(sv))):
                r = z3.unsat
            else:
                sv = solver(timeout)
                sv.add(*facts, z3.Not(goal))
                r = sv.check()
                stats.append(_stats(sv))
            summed = {k: sum(x[k] for x in stats) for k in STATS if k != "memory"}
            row = {"servers": servers, "part": part, "action": label,
                   "conjunct": name, "verdict": str(r), "seconds": time.perf_counter() - t0,
                   "timeout": timeout, "z3": z3_version(), "provenance": prov,
                   "cases": len(cases) if r == z3.unsat and cases else 0, **summed,
                   "memory": max(x["memory"] for x in stats)}
            f.write(json.dumps(row) + "\n")
            f.flush()
            print(f"{label:28} {name:24} {r!s:8} {row['seconds']:7.2f}s "
                  f"qi={row['quant instantiations']:.0f}", flush=True)


def write_docs(files: list[Path]) -> None:
    """Summarise measured files: per configuration (each with the provenance of the run
    that measured it) its totals and the obligations not proved, with Z3's statistics."""
    rows: list[dict[str, Any]] = []
    for p in files:
        rows += [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["servers"], r["part"])].append(r)
    tables = []
    for (n, part), rs in sorted(groups.items()):
        prov = Provenance(True, rs[0]["provenance"])
        by: dict[str, int] = defaultdict(int)
        for r in rs:
            by[r["verdict"]] += 1
        tables.append(Table(
            f"{n} servers, --part {part}", prov,
            ("asked", "proved (unsat)", "sat (CTI)", "unknown (timeout)",
             "timeout per query (s)", "total s", "quantifier instantiations"),
            [(len(rs), by["unsat"], by["sat"], by["unknown"], rs[0]["timeout"],
              sum(r["seconds"] for r in rs),
              int(sum(r["quant instantiations"] for r in rs)))],
            "`asked` counts the obligations the run reached before its overall cap "
            "(`timeout 600`)."))
        hard = sorted((r for r in rs if r["verdict"] != "unsat" or r["seconds"] > 5),
                      key=lambda r: -r["seconds"])
        if hard:
            tables.append(Table(
                f"{n} servers, --part {part}: obligations not proved or slower than 5 s",
                prov,
                ("action", "conjunct'", "verdict", "s", "quantifier instantiations",
                 "conflicts", "decisions", "memory (MB)"),
                [(r["action"], r["conjunct"], r["verdict"], r["seconds"],
                  int(r["quant instantiations"]), int(r["conflicts"]), int(r["decisions"]),
                  r["memory"]) for r in hard]))
        # More than the goal's parts (symbolic/raft/cases.py as it stands).
        planned = set(INSTANCED) if part == "complete" else set()
        split = [r for r in rs if r.get("cases") and (
            (r["action"], r["conjunct"]) in planned or r["seconds"] > 5)]
        if split:
            tables.append(Table(
                f"{n} servers, --part {part}: obligations proved by cases (beyond parts, "
                "or slower than 5 s)",
                prov, ("action", "conjunct'", "queries (cases, facts)", "s",
                       "quantifier instantiations"),
                [(r["action"], r["conjunct"], r["cases"], r["seconds"],
                  int(r["quant instantiations"])) for r in split],
                "Split as symbolic/raft/cases.py says: HandleAppendEntriesRequest's "
                "branches, goal instances, facts proved first; one query per case, plus "
                "the check that the cases cover the obligation. Not listed: the "
                "obligations only split into the goal's parts."))
    write_page("prove-raft-servers", "Raft proof obligations: 3 and 5 servers, histories",
               "Each obligation of `agree prove raft` (the invariant and one action imply one "
               "conjunct in the next state; `Inv =>`: the invariant implies a property) "
               "asked alone, with Z3's statistics after `check()`: where the proof's time "
               "goes, what grows with the number of servers, and which obligations of "
               "`--part complete` (leader completeness and state machine safety over the "
               "`history=True` leader logs) are not proved. An unknown is Z3 giving up "
               "at the timeout, not a counterexample. In `--part complete` the vote "
               "lemmas (symbolic/raft/votes.py) close the counterexamples to induction "
               "the invariant had without them (tests/test_z3_raft_cases.py), and the "
               "obligations that go through them are proved from instantiated facts "
               "(symbolic/raft/cases_commit.py); the vote lemmas' own steps at "
               "HandleAppendEntriesResponse and HandleAppendEntriesRequest rest on the "
               "in-flight acknowledgement lemmas (ae_from_leader, leader_kept, "
               "ack_msg_later), and an obligation split only by parts may still time "
               "out under load (see [Z3](../z3.md)).",
               tables,
               "python benchmarks/prove_raft_obligations.py --write-docs FILE.jsonl ...")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--servers", type=int, default=3)
    ap.add_argument("--part", choices=("all", "election", "complete"), default="all")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=Path("/tmp/raft-obligations.jsonl"))
    ap.add_argument("--action", action="append", default=[])
    ap.add_argument("--conjunct", action="append", default=[])
    ap.add_argument("--write-docs", nargs="+", type=Path, metavar="FILE")
    a = ap.parse_args(argv)
    if a.write_docs:
        write_docs(a.write_docs)
        return 0
    measure(a.servers, a.part, a.timeout, a.out, a.action, a.conjunct)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
