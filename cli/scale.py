"""`agree simulate`, and the scale flags of `agree check` (symmetry, workers, Ray, memory,
checkpoints), read into the options of agree.checker.run.check."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from agree.checker.limits import parse_size
from agree.checker.result import CheckResult
from agree.checker.simulate import SimulationResult, simulate
from agree.checker.swarm import DEEPEN_START, SwarmResult, swarm
from agree.cli.common import require_positive
from agree.cli.trace_files import write_traces
from agree.spec import Property, Spec, SpecError
from agree.traces.explain import explain
from agree.traces.text import render_text

__all__ = ["add_check_flags", "memory_note", "ray_option", "register", "report_simulation",
           "scale_options"]


# -- agree check: the scale flags ------------------------------------------------


def add_check_flags(p: argparse.ArgumentParser) -> None:
    """The flags `agree check` takes for large runs."""
    p.add_argument("--symmetry", action="store_true",
                   help="one state per orbit under the spec's declared symmetry (counts are "
                   "orbits, as TLC's SYMMETRY); refused when a property is not symmetric")
    p.add_argument("--workers", type=int, metavar="N",
                   help="explore with N worker processes (Linux: fork), or N Ray actors "
                   "with --ray")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="distributed BFS on a Ray cluster (ADDRESS, or a local Ray when "
                   "omitted): one actor per CPU unless --workers N; needs the `ray` extra")
    p.add_argument("--memory", metavar="LIMIT",
                   help="stop cleanly, with the partial figures, before using LIMIT of memory "
                   "(e.g. 2G, 512M)")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="save the search to DIR between BFS levels, to --resume it later")
    p.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                   help="at most one checkpoint per SECONDS (default 60)")
    p.add_argument("--resume", metavar="DIR", help="continue a search saved with --checkpoint")


def scale_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of :func:`agree.checker.run.check` the scale flags ask for."""
    workers = getattr(args, "workers", None)
    symmetry = bool(getattr(args, "symmetry", False))
    memory = parse_size(args.memory) if getattr(args, "memory", None) else None
    checkpoint, resume = getattr(args, "checkpoint", None), getattr(args, "resume", None)
    ray = getattr(args, "ray", None)
    if (workers is not None or symmetry or memory is not None or checkpoint or resume
            or ray):
        require_positive(args, "checkpoint_every")
    return {"symmetry": symmetry, "workers": workers,
            "ray": ray_option(ray),
            "memory_limit": memory, "checkpoint": checkpoint or None,
            "resume": resume or None, "checkpoint_every": args.checkpoint_every}


def ray_option(flag: str | None) -> bool | str:
    """``--ray [ADDRESS]`` as the checker's ``ray`` option: False, True (a local Ray) or
    the address."""
    return False if not flag else True if flag == "local" else flag


def memory_note(args: argparse.Namespace, result: CheckResult) -> None:
    """Say on stderr that the memory limit ended the run."""
    if result.stopped == "memory":
        print(f"error: memory limit {args.memory} reached after {result.distinct:,} distinct "
              "states; stopped cleanly, partial report follows", file=sys.stderr)


# -- agree simulate ------------------------------------------------------------------


def register(sub: Any) -> None:
    p = sub.add_parser(
        "simulate", help="random walks through the spec, checking the properties",
        description="Seeded random walks for configurations beyond exhaustive reach "
        "(`agree simulate raft --servers 5 --depth 200 --runs 1000 --seed 7`). Spec "
        "parameters are flags, as for `agree check`. The same seed gives the same walks. "
        "With --swarm the walks are coverage-guided (checker/swarm.py): they restart from "
        "states that showed something new, so they reach bugs deeper than BFS, on any "
        "spec. Exit 0: no violation found (which proves nothing); 1: a property is "
        "violated (the trace is printed and written); 2: bad input.")
    p.add_argument("spec", metavar="SPEC", help="a spec name from `agree list`, or FILE.py")
    p.add_argument("--depth", type=int, default=None, metavar="D",
                   help="steps per walk (default 100; with --swarm 40, from the walk's "
                   "start)")
    p.add_argument("--runs", type=int, default=None, metavar="N",
                   help="walks (default 1000; with --swarm no bound but the time limit)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--invariant", "--property", dest="only", action="append", metavar="NAME",
                   help="check only this property (repeatable)")
    p.add_argument("--continue", dest="keep_going", action="store_true",
                   help="keep walking after a violation, collecting one per property")
    p.add_argument("--deadlock", action="store_true", help="report states with no enabled "
                   "action")
    p.add_argument("--time-limit", type=float, metavar="SECONDS", help="stop after SECONDS")
    p.add_argument("--trace-out", metavar="FILE",
                   help="where to write the counterexample (default: SPEC.PROPERTY.trace.json)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run the walks as a swarm on a Ray cluster (ADDRESS, or a local Ray "
                   "when omitted); needs the `ray` extra")
    p.add_argument("--swarm", action="store_true",
                   help="coverage-guided swarm search: walks restart from states with new "
                   "features of the spec's view, each walk with a random subset of the "
                   "actions; the trace found is shortened (default budget --time-limit "
                   f"{SWARM_TIME_LIMIT:g})")
    p.add_argument("--weighted", type=float, default=None, metavar="F",
                   help="with --swarm: this fraction of the walks (0 to 1; default 0) "
                   "choose their steps by random weights per action and step, so some "
                   "messages are delivered late and some servers never time out")
    p.add_argument("--deepen", type=int, default=None, metavar="N",
                   help="with --swarm: iterative deepening, every path from Init capped at "
                   f"{DEEPEN_START} steps plus one per N walks, so the corpus fills with "
                   "states reached by short paths (for bugs that need several terms, rounds "
                   "or ballots spent sparingly)")
    p.add_argument("--restart", type=int, default=None, metavar="N",
                   help="with --swarm: start the search over every N walks (a new corpus, "
                   "the deepening cap back at its start): many short independent searches "
                   "instead of one long one, for bugs a search finds early or never")
    p.set_defaults(handler=run_simulate, accepts_extra=True)


#: `agree simulate --swarm`'s budget when neither --runs nor --time-limit is given.
SWARM_TIME_LIMIT = 60.0


def run_simulate(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.cli.check import instantiate, load_spec, parse_spec_params

    cls, props, defaults = load_spec(args.spec)
    params = parse_spec_params(cls, extra, f"agree simulate {args.spec}", defaults)
    depth = args.depth if args.depth is not None else 40 if args.swarm else 100
    runs = args.runs if args.runs is not None or args.swarm else 1000
    if depth < 1 or (runs is not None and runs < 1):
        raise SpecError("--depth and --runs must be at least 1")
    require_positive(args, "time_limit")
    if args.weighted is not None and not args.swarm:
        raise SpecError("--weighted is an option of --swarm")
    if args.deepen is not None and not args.swarm:
        raise SpecError("--deepen is an option of --swarm")
    if args.deepen is not None and args.deepen < 1:
        raise SpecError("--deepen must be at least 1 (walks per step of the cap)")
    if args.restart is not None and not args.swarm:
        raise SpecError("--restart is an option of --swarm")
    if args.restart is not None and args.restart < 1:
        raise SpecError("--restart must be at least 1 (walks per search)")
    if args.swarm and (args.ray or args.keep_going):
        raise SpecError("--swarm runs in one process and stops at the first violation: "
                        "without --ray or --continue")
    spec = instantiate(cls, params, args.spec)
    all_props = (*spec.declared_properties(), *props)
    result: SimulationResult
    if args.swarm:
        limit = args.time_limit if args.time_limit or runs is not None else SWARM_TIME_LIMIT
        result = swarm(spec, all_props, depth=depth, walks=runs, seed=args.seed,
                       only=args.only, deadlock=args.deadlock, time_limit=limit,
                       weighted=args.weighted or 0.0, deepen=args.deepen or 0,
                       restart=args.restart or 0)
    else:
        result = simulate(spec, all_props, depth=depth, runs=runs or 1000, seed=args.seed,
                          only=args.only, stop_at_first=not args.keep_going,
                          deadlock=args.deadlock, time_limit=args.time_limit,
                          ray=ray_option(args.ray))
    written = write_traces(result.spec, [(v.property, v.trace) for v in result.violations],
                           args.trace_out)
    if args.json:
        doc = result.to_json()
        doc["trace_files"] = written
        print(json.dumps(doc, indent=1))
    else:
        print(report_simulation(spec, result, written, all_props))
    return result.exit_code


def report_simulation(spec: Spec[Any], r: SimulationResult, written: list[str],
                      properties: Sequence[Property] = ()) -> str:
    """The human report of a simulation: verdict, figures, coverage, then any trace."""
    params = " ".join(f"{k}={v}" for k, v in r.params.items())
    mode = " --swarm" if isinstance(r, SwarmResult) else ""
    out = [f"agree simulate{mode} {r.spec} ({params}) seed={r.seed} depth={r.depth}",
           f"properties: {', '.join(r.properties) or 'none'}", ""]
    if not r.violations:
        start = " from Init or a corpus state" if isinstance(r, SwarmResult) else ""
        out.append(f"No violation found in {r.runs:,} walks of up to {r.depth} steps{start} "
                   "(simulation proves nothing).")
    for v in r.violations:
        steps = len(v.trace) if v.trace is not None else 0
        what = "deadlock reached" if v.kind == "deadlock" else f"VIOLATED: {v.property}"
        out.append(f"{what} ({v.kind}), trace: {steps} step{'s' if steps != 1 else ''}")
    somes = [p for p in r.properties if p in r.satisfied]
    rate = r.steps / r.seconds if r.seconds > 0 else 0.0
    out += ["", f"walks             {r.runs:,}", f"steps taken       {r.steps:,}",
            f"states generated  {r.generated:,}", f"time              {r.seconds:.2f} s",
            f"steps/s           {rate:,.0f}"]
    if r.stopped:
        out.append(f"stopped           {r.stopped}")
    if isinstance(r, SwarmResult):
        out += [f"swarm corpus      {r.corpus:,} states ({r.features:,} features seen; "
                f"{r.from_init:,} walks from Init" + (f", {r.weighted:,} weighted)"
                                                      if r.weighted else ")")]
        if r.path_cap is not None:
            out.append(f"deepening         paths from Init capped at {r.path_cap} steps "
                       "at the end")
        if r.restarts:
            out.append(f"restarts          {r.restarts:,} (the search started over with a "
                       "new corpus)")
        for v in r.violations:
            if v.trace is not None and r.found_steps:
                out.append(f"shortened         {v.property}: {r.found_steps} steps walked "
                           f"from Init -> {len(v.trace)} in the trace")
    if somes:
        out.append(f"sometimes seen    {', '.join(somes)}")
    out += ["", "coverage (action: steps taken):"]
    width = max((len(k) for k in r.coverage), default=0)
    for label, n in r.coverage.items():
        never = "   <- never taken" if n == 0 else ""
        out.append(f"  {label:<{width}}  {n:>10,}{never}")
    for v in r.violations:
        if v.trace is not None:
            why = explain(spec, v.trace, properties)
            out += ["", "-" * 72, render_text(spec, v.trace, explanation=why).rstrip()]
    if written:
        out += ["", *(f"trace written to {w}" for w in written)]
    return "\n".join(out)
