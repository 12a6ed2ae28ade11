"""`agree prove FILE.py` (explicit induction over a declared state space) on two-phase
commit and on Paxos with each conjunct of its inductive invariant dropped in turn.

Every row is one `agree prove ... --json` command, run in a fresh process, one at a time.
Usage:

    python benchmarks/induction.py                # print the tables
    python benchmarks/induction.py --write-docs   # -> docs/benchmarks/induction.md
    python benchmarks/induction.py --quick        # short budgets (a smoke run)

The Paxos table compares, for each dropped conjunct, the obligations with a
counterexample to induction (CTI) against the obligations whose Z3 proof uses that
conjunct (``PaxosZ3.USES`` in symbolic/paxos/invariant.py, and the cases of
Phase2a => inv_2a_safe'), leaving out the dropped conjunct's own preservation, which is
no longer checked.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from report import Provenance, Table, write_page

ROOT = Path(__file__).resolve().parent.parent
TPC = "examples/two_phase_commit.py"
HASTY = "examples/two_phase_commit_hasty.py"
PAXOS = "examples/paxos_inductive.py"
#: Conjuncts of the Paxos invariant, each dropped in turn (type_ok is the space's twin).
PAXOS_DROPS = ("max_bal_ge_max_vbal", "inv_2b", "inv_1b_latest", "inv_latest_vote", "inv_1b",
               "inv_2a_safe", "inv_2a_unique", "votes_safe", "one_value_per_ballot")
LEMMAS = ("max_bal_ge_max_vbal", "inv_2b", "inv_1b_latest")


def agree(*argv: str, timeout: float) -> tuple[dict[str, Any], float]:
    """Run one `agree prove ... --json`; its document and wall seconds."""
    cmd = [str(Path(sys.executable).parent / "agree"), "prove", *argv, "--json"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=timeout)
    wall = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout), wall


def _obligations(doc: dict[str, Any]) -> str:
    if not doc["counterexamples"]:
        return "none"
    return "; ".join(f"{c['obligation']} ({c['found']:,})" for c in doc["counterexamples"])


def _reach(doc: dict[str, Any]) -> str:
    if not doc["counterexamples"]:
        return "-"
    seen = sorted({c["reachable"].split(" (")[0] for c in doc["counterexamples"]})
    out = ", ".join(seen)
    w = doc["reachable_cti_search"]
    if w is not None:
        out += {"holds": "; every reachable state satisfies the invariant (too weak)",
                "found": f"; a reachable CTI of {w['conjunct']}"}.get(
            w["status"], "; reachable CTI search: " + w["status"].split(" (")[0])
    return out


def two_phase_commit(quick: bool) -> Table:
    t = "5" if quick else "30"
    runs: list[tuple[str, list[str]]] = [
        ("3 RMs", [TPC]),
        ("5 RMs", [TPC, "--rms", "5", "--time-limit", t]),
        ("5 RMs, mutation", [TPC, "--rms", "5", "--strategy", "mutation", "--time-limit", t]),
        ("3 RMs, seeded bug (TM commits early)", [HASTY]),
        ("5 RMs, seeded bug (TM commits early)", [HASTY, "--rms", "5", "--time-limit", t]),
        ("3 RMs, decision_followed dropped (too weak)", [TPC, "--drop", "decision_followed"]),
        ("3 RMs, decision_followed dropped, hypothesis",
         [TPC, "--drop", "decision_followed", "--strategy", "hypothesis", "--time-limit", t]),
    ]
    if not quick:
        runs.insert(3, ("5 RMs, exhaustive", [TPC, "--rms", "5", "--strategy", "exhaustive",
                                              "--time-limit", "900"]))
    rows = []
    for what, argv in runs:
        doc, wall = agree(*argv, timeout=1200)
        print(f"{what}: {doc['verdict']} {doc['tried']:,} ({wall:.1f} s)", flush=True)
        rows.append([what, f"`agree prove {' '.join(argv)}`", doc["strategy"],
                     doc["space_size"], doc["candidates"], doc["tried"], doc["verdict"],
                     _obligations(doc), _reach(doc), f"{doc['seconds']:.1f}"])
    return Table("Two-phase commit", Provenance.now(),
                 ["configuration", "command", "strategy", "space", "states tried",
                  "satisfying Inv", "verdict", "CTIs (obligation, pre-states found)",
                  "pre-state", "search s"], rows,
                 note="*states tried*: states of the declared space generated (enumerated, "
                 "or walk seeds and their edits); *satisfying Inv*: the distinct ones "
                 "satisfying every conjunct, whose steps were all checked. Only an "
                 "exhaustive run with no CTI says *inductive* (for that configuration); a "
                 "sampled one says *none found* in so many states. *search s* is the search "
                 "alone, without loading or the reachability classification.")


def needed_for() -> dict[str, set[str]]:
    """Per conjunct, the obligations whose Z3 proof uses it (not its own preservation)."""
    from agree.symbolic.paxos.invariant import PaxosZ3

    out: dict[str, set[str]] = {}
    uses = dict(PaxosZ3.USES)
    uses[("Phase2a", "inv_2a_safe")] = ("inv_2a_safe", "inv_1b", "inv_1b_latest", "type_ok")
    for (action, goal), used in uses.items():
        for c in used:
            if c != goal:
                title = f"Inv => {goal}" if action is None else f"Inv /\\ {action} => {goal}'"
                out.setdefault(c, set()).add(title)
    return out


def paxos(quick: bool, max_ballot: int, drops: tuple[str | None, ...], reach: str) -> Table:
    """Each conjunct of ``drops`` (None: none) left out in turn, ballots 0..max_ballot."""
    t = "5" if quick else "30"
    need = needed_for()
    rows = []
    for drop in drops:
        argv = [PAXOS, "--max-ballot", str(max_ballot), "--time-limit", t,
                "--reach-budget", reach]
        if drop is not None:
            argv += ["--drop", drop]
        doc, wall = agree(*argv, timeout=1200)
        found = {c["obligation"] for c in doc["counterexamples"]}
        wanted = need.get(drop or "", set())
        print(f"{drop}: {doc['verdict']} {sorted(found)} ({wall:.1f} s)", flush=True)
        rows.append([drop or "(none: Inv and its lemmas)",
                     "yes" if drop in LEMMAS else "",
                     _obligations(doc),
                     "; ".join(sorted(wanted)) or "-",
                     "yes" if wanted <= found else f"no: {'; '.join(sorted(wanted - found))}",
                     doc["tried"], f"{doc['seconds']:.1f}", _reach(doc)])
    return Table(f"Paxos, ballots 0..{max_ballot}: conjuncts dropped in turn", Provenance.now(),
                 ["dropped", "lemma", "CTIs found (obligation, pre-states found)",
                  "the Z3 proof uses it for", "all found", "satisfying Inv", "search s",
                  "pre-state"], rows,
                 note=f"`agree prove {PAXOS} --max-ballot {max_ballot} --time-limit {t} "
                 f"--reach-budget {reach} --drop CONJUNCT` (3 acceptors, 2 values; the space "
                 "is far beyond enumeration: the mutation strategy, seed 0). *the Z3 proof "
                 "uses it for*: the obligations of `agree prove paxos` whose proof uses the "
                 "conjunct, but its own preservation (a dropped conjunct is not checked). "
                 "*pre-state*: the reachability of the CTIs' pre-states, then what the "
                 "search for a reachable CTI of the remaining invariant found (*unknown*: "
                 "the search ran out of its budget before exploring every reachable state). "
                 "VotesSafe and OneValuePerBallot are implied by the other conjuncts "
                 "(Lamport's Inv implies Voting's Inv), so dropping either leaves the "
                 "invariant inductive, though the Z3 proof uses them as stepping stones.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    tables = [two_phase_commit(args.quick),
              paxos(args.quick, 1, (None, *PAXOS_DROPS), "60"),
              paxos(args.quick, 2, (None, *LEMMAS), "5")]
    if args.write_docs:
        write_page("induction", "Inductive invariants of a spec file (agree prove FILE.py)",
                   "`agree prove FILE.py` checks a user spec's declared inductive invariant "
                   "by trying states of its declared state space: all of them when the space "
                   "is small, otherwise states of random walks and their edits "
                   "([Inductive invariants of a spec file](../induction.md)).",
                   tables, "python benchmarks/induction.py --write-docs")
    else:
        from report import markdown
        for table in tables:
            print(markdown(table))


if __name__ == "__main__":
    main()
