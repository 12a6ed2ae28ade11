"""Multi-Paxos measured: the spec's state spaces (with and without symmetry), each zoo
variant found by `agree check`, and the conformance harness against impl/paxos/multi.py's
seeded bugs.

    python benchmarks/multipaxos.py [--budget 300] [--seeds 1 2] [--quick] [--write-docs]
                                    [--tlc /work/tlc]

``--quick`` leaves out the runs of a minute or more (the deep zoo variants and the
correct spec on their configuration). ``--write-docs`` writes docs/benchmarks/multipaxos.md
from this run. Each zoo check is the one `agree check VARIANT` makes (its defaults, BFS,
stopping at the first violation); the correct spec is then explored completely on the
same configuration. ``--tlc DIR`` (a TLC_HOME as shared/reference/tlc-kit builds it) also
counts the states of benchmarks/tla/MCMultiPaxos.tla, models/multipaxos.py transcribed
into TLA+, with TLC, and stops if a count differs from agree's.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

from report import Provenance, Table, write_page
from vs_tlc import Config, run_tlc

from agree.checker.run import check
from agree.conformance.multipaxos_machine import multipaxos_machine
from agree.conformance.power import measure
from agree.models.multipaxos import MultiPaxos
from agree.protocols import registry

#: The correct spec's configurations: (slots, max_ballot), each with and without symmetry.
CONFIGS = [(1, 1), (2, 0), (1, 2)]


def spec_rows(quick: bool) -> list[list[object]]:
    rows: list[list[object]] = []
    for slots, max_ballot in CONFIGS:
        if quick and max_ballot >= 2:
            continue
        for symmetry in (False, True):
            spec = MultiPaxos(slots=slots, max_ballot=max_ballot)
            r = check(spec, registry.get("multipaxos").property_list(), symmetry=symmetry)
            rows.append([f"--slots {slots} --max-ballot {max_ballot}"
                         + (" --symmetry" if symmetry else ""), r.verdict, r.distinct,
                         r.depth, f"{r.seconds:.1f}"])
            print(*rows[-1], flush=True)
    return rows


#: TLC's models of benchmarks/tla/: (cfg, agree's parameters, symmetry).
TLC_CONFIGS = [("MCMultiPaxos_S2B0.cfg", (2, 0), False), ("MCMultiPaxos_S1B1.cfg", (1, 1), False),
               ("MCMultiPaxos_S1B1_sym.cfg", (1, 1), True)]


def tlc_rows(home: Path) -> list[list[object]]:
    """agree and TLC on the same configurations of the spec: distinct, generated, depth."""
    rows: list[list[object]] = []
    for cfg, (slots, max_ballot), symmetry in TLC_CONFIGS:
        r = check(MultiPaxos(slots=slots, max_ballot=max_ballot),
                  registry.get("multipaxos").property_list(), symmetry=symmetry)
        t = run_tlc(home, Path(__file__).parent, Config(
            cfg, cfg, (), "tla", "MCMultiPaxos", cfg, r.distinct, r.depth, 0.0, ""), 1)
        ours, theirs = (r.distinct, r.generated, r.depth), (t.distinct, t.generated, t.depth)
        if ours != theirs:
            raise SystemExit(f"{cfg}: agree {ours}, TLC {theirs}")
        rows.append([f"--slots {slots} --max-ballot {max_ballot}"
                     + (" --symmetry" if symmetry else ""), cfg, *ours, *theirs])
        print(*rows[-1], flush=True)
    return rows


def zoo_rows(quick: bool) -> list[list[object]]:
    rows: list[list[object]] = []
    for entry in registry.get("multipaxos").protocol.entries():
        if entry.variant is None or (quick and entry.variant.explored_in != "seconds"):
            continue
        spec, props = registry.build(entry.name)
        found = check(spec, props, only=[entry.breaks])
        v = found.violation(entry.breaks)
        steps = len(v.trace.steps) if v is not None and v.trace is not None else "-"
        correct = check(MultiPaxos(**dict(entry.defaults)), props, only=[entry.breaks])
        flags = " ".join(f"--{k.replace('_', '-')} {x}" for k, x in entry.defaults)
        rows.append([f"agree check {entry.name}", flags, entry.breaks,
                     "found" if v is not None else "NOT FOUND", steps, found.distinct,
                     f"{found.seconds:.1f}", correct.verdict, correct.distinct,
                     f"{correct.seconds:.1f}"])
        print(*rows[-1], flush=True)
    return rows


def power_rows(budget: int, seeds: list[int]) -> list[list[object]]:
    rows: list[list[object]] = []
    for bug in registry.get("multipaxos").protocol.seeded_bugs():
        for seed in [None, *seeds]:
            with contextlib.redirect_stdout(io.StringIO()):
                c = measure(multipaxos_machine(), bug.name, budget, seed)
            run = "derandomized" if seed is None else f"seed {seed}"
            rows.append([bug.name, bug.breaks, run, budget, c.caught, c.examples,
                         f"{c.seconds:.1f}"])
            print(*rows[-1], flush=True)
        if not any(r[0] == bug.name and r[4] for r in rows):
            # missed by every run: how far off is it? One derandomized run, 5x the budget.
            with contextlib.redirect_stdout(io.StringIO()):
                c = measure(multipaxos_machine(), bug.name, 5 * budget)
            rows.append([bug.name, bug.breaks, "derandomized", 5 * budget, c.caught,
                         c.examples, f"{c.seconds:.1f}"])
            print(*rows[-1], flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=300, help="examples per seeded bug run")
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--quick", action="store_true", help="leave out the minute-long runs")
    ap.add_argument("--write-docs", action="store_true",
                    help="write docs/benchmarks/multipaxos.md from this run")
    ap.add_argument("--tlc", type=Path, metavar="DIR",
                    help="TLC_HOME: also count benchmarks/tla/MCMultiPaxos.tla with TLC")
    args = ap.parse_args()
    start = time.perf_counter()
    tlc = tlc_rows(args.tlc) if args.tlc else []
    specs, zoo = spec_rows(args.quick), zoo_rows(args.quick)
    power = power_rows(args.budget, args.seeds)
    print(f"total {time.perf_counter() - start:.1f}s")
    if args.write_docs:
        write_page(
            "multipaxos", "Multi-Paxos: state spaces, zoo and conformance",
            "The Multi-Paxos spec (models/multipaxos.py: 3 acceptors, 1 client value and "
            "the no-op) explored completely; each zoo variant found by `agree check` on its "
            "defaults, and the correct spec explored on the same configuration; each seeded "
            "bug of impl/paxos/multi.py (conformance/multipaxos_machine.py) patched in and "
            "the conformance machine run without shrinking until the first failure or "
            f"{args.budget} examples.",
            [Table("The correct spec", Provenance.now(),
                   ["configuration", "verdict", "distinct states", "depth", "seconds"], specs,
                   "With --symmetry, distinct states are orbits under permutations of the "
                   "acceptors and the client values."),
             *([Table("Beside TLC", Provenance.now(),
                      ["configuration", "TLC model (benchmarks/tla/)", "agree distinct",
                       "agree generated", "agree depth", "TLC distinct", "TLC generated",
                       "TLC depth"], tlc,
                      "MCMultiPaxos.tla is models/multipaxos.py transcribed into TLA+ (not "
                      "Chand-Liu-Stoller's MultiPaxos.tla, whose actions differ); TLC's "
                      "symmetry permutes the acceptors, as --symmetry does with one client "
                      "value. TLC ran with one worker.")] if tlc else []),
             Table("The zoo", Provenance.now(),
                   ["command", "defaults", "breaks", "result", "trace steps", "states",
                    "seconds", "correct spec there", "its states", "its seconds"], zoo),
             Table("Seeded implementation bugs", Provenance.now(),
                   ["bug", "breaks", "run", "budget", "caught", "examples", "seconds"], power,
                   "A bug missed by every run within the budget gets one more derandomized "
                   "run at five times the budget. tests/test_conformance_multipaxos.py also "
                   "catches the two recovery bugs with directed schedules (a leader whose "
                   "own stale vote, or whose last-arriving lower vote, must lose to a "
                   "higher-ballot vote).")],
            "python benchmarks/multipaxos.py --tlc /work/tlc --write-docs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
