"""Deep bugs from Init, with no prefix: `agree simulate --swarm` on the zoo's three deep Raft
bugs and on the issue #20 user variant (examples/raft_ignore_prev_log_term.py).

Each target is searched in its default configuration from Init, once per seed, under a
time budget (the engine of checker/swarm.py, in this process, as `agree simulate NAME
--swarm --seed S --time-limit B` runs it). A seed that finds nothing counts as the
budget in the median and the worst ("> B s"). The budget counts wall-clock seconds on a
shared machine (CPU seconds of this process are given beside them), or with --cpu CPU
seconds of this process, the fair measure on a loaded machine. --deepen N runs the
search with iterative deepening (`agree simulate --swarm --deepen N`), --restart N with
restarts every N walks (`--restart N`). Usage:

    python benchmarks/swarm_zoo.py [NAME ...] [--seeds N] [--budget SECONDS] [--cpu]
        [--weighted F] [--deepen N] [--restart N] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

from report import Provenance, Table, write_page

from agree.checker.swarm import DEEPEN_START, swarm
from agree.protocols import registry

ROOT = Path(__file__).resolve().parent.parent
USER = str(ROOT / "examples" / "raft_ignore_prev_log_term.py")
#: name -> the property its bug breaks (the user variant: log matching).
TARGETS = {
    "raft-vote-any-log": "leader_completeness",
    "raft-truncate-on-stale-append": "leader_completeness",
    "raft-commit-old-term": "leader_completeness",
    USER: "log_matching",
}
COLUMNS = ["target", "configuration", "found (seeds)", "median time", "worst time",
           "median CPU", "trace (walked -> shortened)", "BFS shortest"]
#: With --cpu: the budget and the times to find are CPU seconds; wall beside them.
CPU_COLUMNS = ["target", "configuration", "found (seeds)", "median CPU", "worst CPU",
               "median wall", "trace (walked -> shortened)", "BFS shortest"]
DETAIL = ["target", "seed", "verdict", "wall s", "CPU s", "walks", "steps", "corpus",
          "trace (walked -> shortened)"]
#: The shortest counterexample known (docs/benchmarks/zoo.md; the user variant: none).
SHORTEST = {"raft-vote-any-log": "25 steps", "raft-truncate-on-stale-append": "26 steps",
            "raft-commit-old-term": "54 steps", USER: "not known"}


def _label(name: str) -> str:
    return f"`{Path(name).relative_to(ROOT)}`" if name == USER else f"`{name}`"


def run_one(name: str, seed: int, budget: float, weighted: float = 0.0, deepen: int = 0,
            cpu_budget: bool = False, restart: int = 0) -> dict[str, Any]:
    """One seeded search of ``name`` in its default configuration (``weighted``: the
    fraction of weighted walks, `agree simulate --swarm --weighted F`; ``deepen``: walks
    per step of the path cap, `--deepen N`; ``cpu_budget``: the budget counts CPU
    seconds of this process, not wall-clock; ``restart``: walks per search before it
    starts over, `--restart N`)."""
    cls, props, defaults = registry.load(name)
    spec = cls(**registry.coerce_params(cls, {}, defaults))
    wall, cpu = time.perf_counter(), time.process_time()
    r = swarm(spec, (*spec.declared_properties(), *props), seed=seed, time_limit=budget,
              weighted=weighted, deepen=deepen, restart=restart,
              clock=time.process_time if cpu_budget else time.monotonic)
    out = {"found": [v.property for v in r.violations], "wall": time.perf_counter() - wall,
           "cpu": time.process_time() - cpu, "walks": r.runs, "steps": r.steps,
           "corpus": r.corpus, "walked": r.found_steps, "restarts": r.restarts,
           "trace": len(r.violations[0].trace or ()) if r.violations else 0,
           "params": spec.param_values()}
    print(f"{name} seed {seed}: {out['found'] or 'none'} {out['wall']:.1f} s wall, "
          f"{out['cpu']:.1f} s CPU, {r.runs:,} walks, {r.steps:,} steps, corpus "
          f"{r.corpus:,}, {r.restarts} restarts, trace {out['walked']} -> {out['trace']}",
          flush=True)
    return out


def _config(params: dict[str, Any]) -> str:
    keys = ("servers", "max_term", "max_log", "max_messages", "max_restarts")
    return ", ".join(f"{k} {params[k]}" for k in keys if k in params)


def summary(name: str, runs: list[dict[str, Any]], budget: float, cpu_budget: bool = False,
            ) -> list[object]:
    """One row: how many seeds found the target's bug, median and worst times (of the
    clock the budget counts), and the median of the other clock."""
    hit = [r for r in runs if TARGETS[name] in r["found"]]
    clock, other = ("cpu", "wall") if cpu_budget else ("wall", "cpu")
    times = [r[clock] if r in hit else math.inf for r in runs]

    def fmt(t: float) -> str:
        return f"> {budget:.0f} s" if t == math.inf else f"{t:.1f} s"
    median = statistics.median(times)
    cpu = statistics.median(r[other] for r in runs)
    trace = (f"{statistics.median(r['walked'] for r in hit):.0f} -> "
             f"{statistics.median(r['trace'] for r in hit):.0f} steps (median)"
             if hit else "-")
    return [_label(name), _config(runs[0]["params"]), f"{len(hit)} of {len(runs)}",
            fmt(median), fmt(max(times)), f"{cpu:.1f} s", trace, SHORTEST[name]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="targets (default: all four)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1..N (default 5)")
    parser.add_argument("--budget", type=float, default=90.0,
                        help="seconds per search (default 90)")
    parser.add_argument("--weighted", type=float, default=0.0, metavar="F",
                        help="the fraction of weighted walks (default 0, as `agree "
                        "simulate --swarm`); the page is then swarm-weighted.md")
    parser.add_argument("--deepen", type=int, default=0, metavar="N",
                        help="iterative deepening, N walks per step of the path cap (default "
                        "0: off, as `agree simulate --swarm`); the page is then "
                        "swarm-deepen.md")
    parser.add_argument("--restart", type=int, default=0, metavar="N",
                        help="restarts, the search starting over every N walks (default 0: "
                        "off, as `agree simulate --swarm`); the page is then "
                        "swarm-restart.md (swarm-deepen-restart.md with --deepen)")
    parser.add_argument("--cpu", action="store_true",
                        help="the budget counts CPU seconds of this process, not wall-clock")
    parser.add_argument("--save", type=Path, metavar="DIR",
                        help="also write each target's runs to DIR/TARGET.json")
    parser.add_argument("--load", type=Path, metavar="DIR",
                        help="read the runs from DIR/TARGET.json (written by --save, e.g. by "
                        "one process per target) instead of running them")
    parser.add_argument("--write-docs", action="store_true",
                        help="write docs/benchmarks/swarm.md (with --weighted: "
                        "swarm-weighted.md, with --deepen: swarm-deepen.md) from this run")
    args = parser.parse_args()
    names = [USER if n.endswith(".py") else n for n in args.names] or list(TARGETS)
    rows, detail = [], []
    for name in names:
        saved = f"{Path(name).stem}.json"
        if args.load:
            runs = json.loads((args.load / saved).read_text())
        else:
            runs = [run_one(name, seed, args.budget, args.weighted, args.deepen, args.cpu,
                            args.restart)
                    for seed in range(1, args.seeds + 1)]
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / saved).write_text(json.dumps(runs, indent=1) + "\n")
        rows.append(summary(name, runs, args.budget, args.cpu))
        detail += [[_label(name), seed, ", ".join(r["found"]) or "none found",
                    f"{r['wall']:.1f}", f"{r['cpu']:.1f}", r["walks"], r["steps"],
                    r["corpus"], *([r.get("restarts", 0)] if args.restart else []),
                    f"{r['walked']} -> {r['trace']}" if r["found"] else "-"]
                   for seed, r in enumerate(runs, 1)]
        print(" | ".join(map(str, rows[-1])), flush=True)
    if args.write_docs:
        _write_docs(args, rows, detail)


def _write_docs(args: argparse.Namespace, rows: list[list[object]],
                detail: list[list[object]]) -> None:
    """docs/benchmarks/swarm.md, or swarm-weighted.md / swarm-deepen.md for the options."""
    now = Provenance.now()
    flag = (f" --weighted {args.weighted:g}" if args.weighted else "") + (
        f" --deepen {args.deepen}" if args.deepen else "") + (
        f" --restart {args.restart}" if args.restart else "")
    cpu = " --cpu" if args.cpu else ""
    notes = ""
    if args.weighted:
        notes += (
            f" A fraction {args.weighted:g} of the walks (spread evenly) choose their steps "
            "by random weights per action and per step instead of among a random subset of "
            "the actions: a step with a small weight waits, so a message is delivered late "
            "or a server never times out. The same search without them: "
            "[deep bugs from Init](swarm.md).")
    if args.deepen:
        notes += (
            f" Iterative deepening: every path from Init (the corpus chain plus the walk) "
            f"is capped at {DEEPEN_START} steps plus one per {args.deepen} walks, so the "
            "corpus fills with states reached by short paths. The same search without it: "
            "[deep bugs from Init](swarm.md).")
    if args.restart:
        notes += (
            f" Restarts: every {args.restart:,} walks the search starts over, with a new "
            "corpus and feature counts" + (" and the deepening cap back at its start"
                                           if args.deepen else "") +
            ", so one seed runs many short independent searches instead of one long one; "
            "the restarts column counts them. Without restarts: "
            + ("[iterative deepening](swarm-deepen.md)." if args.deepen
               else "[deep bugs from Init](swarm.md)."))
    budget = ("The budget counts CPU seconds of the search's process (`--cpu`), the fair "
              "measure on a loaded machine; wall-clock seconds are beside them."
              if args.cpu else
              "The budget is wall-clock: on a loaded machine a search gets less than a "
              "core, so read the CPU seconds beside it.")
    page = "swarm" + ("-weighted" if args.weighted else "") + (
        "-deepen" if args.deepen else "") + ("-restart" if args.restart else "")
    title = ("Deep bugs from Init: coverage-guided swarm simulation"
             + (", weighted walks" if args.weighted else "")
             + (", iterative deepening" if args.deepen else "")
             + (", restarts" if args.restart else ""))
    write_page(
        page, title,
        f"`agree simulate NAME --swarm{flag} --seed S --time-limit B` (checker/swarm.py) "
        "on the zoo's three Raft bugs beyond breadth-first search from Init, and on the "
        "issue #20 user variant that ignores prevLogTerm, each in its default "
        "configuration, from Init, with no prefix. A seed that finds nothing counts as the "
        f"budget in the median and worst. {budget} The walks a seed runs before it finds "
        "the bug are the same on any machine. The trace column: steps of the walk's path "
        "from Init (loops cut) -> after shortcuts and step removal (checker/swarm.py, "
        "checker/minimize.py)." + notes,
        [Table(f"Per target ({args.seeds} seeds, {args.budget:.0f} s "
               f"{'CPU ' if args.cpu else ''}budget each)", now,
               CPU_COLUMNS if args.cpu else COLUMNS, rows),
         Table("Per seed", now, [*DETAIL[:-1], "restarts", DETAIL[-1]] if args.restart
               else DETAIL, detail)],
        f"python benchmarks/swarm_zoo.py{flag}{cpu} --budget {args.budget:g} --seeds "
        f"{args.seeds} --write-docs")

if __name__ == "__main__":
    main()
