"""agree beside TLC on the reference configurations: the same counts, and the time ratio.

    python benchmarks/vs_tlc.py                        # agree only, beside TLC's recorded times
    python benchmarks/vs_tlc.py --tlc /work/tlc        # agree and TLC in turn, side by side
    python benchmarks/vs_tlc.py --tlc /work/tlc --rounds 3 --only raft-3s-l0 --write-docs

Builds nothing. ``--tlc DIR`` is a TLC_HOME as the kit's README
(shared/reference/tlc-kit) builds it: ``tla2tools.jar``, ``CommunityModules.jar`` and
``tlalib/`` in DIR, and the kit's run folders (``paxos/`` with Paxos.tla, Voting.tla and
Consensus.tla beside MCPaxosAnchor.tla; ``raft/`` with raft.tla beside MCraft.tla) in
``DIR/run`` or ``--runs``. TLC runs as the kit's ``tlc.sh`` runs it (one JVM per run,
``-XX:+UseParallelGC -Xmx8g``, a fresh metadir).

Each configuration runs agree (``agree check ...``, every property) and TLC in turn,
alternating which goes first, ``--rounds`` times, each in a fresh process; times are
whole-process wall seconds (TLC's include about 1 s of JVM start and parsing, agree's
its imports). The distinct states and depth of both must equal the reference counts, or
the script stops. Without ``--tlc`` agree runs alone and TLC's figures are the recorded
ones (issue 17, measured side by side at commit cc6b616), marked as recorded. The
ratio is agree's median over TLC's median. ``--write-docs`` writes
docs/benchmarks/vs-tlc.md with date, commit and machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from report import Provenance, Table, write_page


@dataclass(frozen=True)
class Config:
    """One reference configuration: agree's command line, TLC's model, the counts."""

    label: str
    what: str
    agree: tuple[str, ...]
    folder: str  # TLC run folder
    module: str
    cfg: str
    distinct: int
    depth: int  # TLC's depth (the initial state is depth 1), as agree prints it
    tlc_recorded: float  # TLC wall seconds, 1 worker (issue 17 / configs.tsv)
    recorded_from: str


CONFIGS = [
    Config("raft-2s", "Raft, 2 servers, MaxTerm 2, MaxLogLen 1, MaxMsgs 2 (quick)",
           ("raft", "--servers", "2", "--max-term", "2", "--max-log", "1",
            "--max-messages", "2"),
           "raft", "MCraft", "raft_2s_t2_l1_m2.cfg", 25_164, 33, 6.2, "tlc-kit configs.tsv"),
    Config("paxos-b2", "Paxos, 3 acceptors, 2 values, MaxBallot 2",
           ("paxos", "--max-ballot", "2"),
           "paxos", "MCPaxosAnchor", "MCPaxosAnchor_B2.cfg", 185_369, 25, 56.0, "issue 17"),
    Config("raft-3s-l0", "Raft, 3 servers, MaxTerm 2, MaxLogLen 0, MaxMsgs 1",
           ("raft", "--servers", "3", "--max-term", "2", "--max-log", "0",
            "--max-messages", "1"),
           "raft", "MCraft", "raft_3s_t2_l0_m1.cfg", 705_532, 39, 78.1, "issue 17"),
    Config("raft-3s-l1", "Raft, 3 servers, MaxTerm 2, MaxLogLen 1, MaxMsgs 1",
           ("raft", "--servers", "3", "--max-term", "2", "--max-log", "1",
            "--max-messages", "1"),
           "raft", "MCraft", "raft_3s_t2_l1_m1.cfg", 2_379_781, 53, 298.0, "issue 17"),
]
BY_LABEL = {c.label: c for c in CONFIGS}


@dataclass
class Run:
    distinct: int
    generated: int
    depth: int
    wall: float


def run_agree(agree: str, config: Config, workers: int) -> Run:
    """``agree check`` in a fresh process, whole-process wall time."""
    cmd = [agree, "check", *config.agree, "--json", "--quiet"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout)
    return Run(out["distinct"], out["generated"], out["depth"], wall)


def run_tlc(home: Path, runs: Path, config: Config, workers: int) -> Run:
    """TLC in a fresh JVM, as the kit's tlc.sh runs it, whole-process wall time."""
    meta = tempfile.mkdtemp(prefix="vs_tlc.meta.")
    cmd = ["java", "-XX:+UseParallelGC", "-Xmx8g", f"-DTLA-Library={home / 'tlalib'}",
           "-cp", f"{home / 'tla2tools.jar'}:{home / 'CommunityModules.jar'}",
           "tlc2.TLC", "-workers", str(workers), "-metadir", meta, "-config", config.cfg,
           config.module]
    try:
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=runs / config.folder, capture_output=True, text=True,
                              check=False)
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(meta, ignore_errors=True)
    log = proc.stdout + proc.stderr
    found = re.findall(r"([\d,]+) states generated, ([\d,]+) distinct states found", log)
    depth = re.findall(r"The depth of the complete state graph search is (\d+)", log)
    if proc.returncode != 0 or not found or not depth:
        raise SystemExit(f"TLC on {config.cfg}: exit {proc.returncode}\n{log[-2000:]}")
    gen, dist = (int(x.replace(",", "")) for x in found[-1])
    return Run(dist, gen, int(depth[-1]), wall)


def _check(who: str, config: Config, run: Run) -> None:
    if (run.distinct, run.depth) != (config.distinct, config.depth):
        raise SystemExit(f"{who} on {config.label}: distinct {run.distinct:,} depth "
                         f"{run.depth}, expected {config.distinct:,} / {config.depth}")


def measure(config: Config, rounds: int, agree: str, tlc: tuple[Path, Path] | None,
            workers: int) -> list[object]:
    """One configuration, ``rounds`` times (agree and TLC in turn): a table row."""
    walls: dict[str, list[float]] = {"agree": [], "tlc": []}
    gens: dict[str, int] = {}
    for r in range(rounds):
        order = ["agree", "tlc"] if r % 2 == 0 else ["tlc", "agree"]
        for who in order:
            if who == "tlc" and tlc is None:
                continue
            run = (run_agree(agree, config, workers) if who == "agree"
                   else run_tlc(tlc[0], tlc[1], config, workers))  # type: ignore[index]
            _check(who, config, run)
            walls[who].append(run.wall)
            gens[who] = run.generated
            print(f"  {config.label} round {r + 1}: {who:5} {run.wall:8.2f} s  distinct "
                  f"{run.distinct:,} generated {run.generated:,} depth {run.depth}",
                  flush=True)
    a = statistics.median(walls["agree"])
    if tlc is not None:
        t, where = statistics.median(walls["tlc"]), "measured"
    else:
        t, where = config.tlc_recorded, f"recorded ({config.recorded_from})"
    ratio = a / t
    print(f"{config.label}: agree {a:.1f} s, TLC {t:.1f} s {where}, ratio {ratio:.2f}",
          flush=True)
    tlc_gen = f"{gens['tlc']:,}" if "tlc" in gens else "-"
    return [config.what, config.distinct, f"{gens['agree']:,}", tlc_gen, config.depth,
            f"{a:.1f} s", f"{t:.1f} s" + ("" if tlc is not None else " (recorded)"),
            f"{ratio:.2f}"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tlc", type=Path, metavar="DIR",
                   help="TLC_HOME: tla2tools.jar, CommunityModules.jar, tlalib/ (see the kit)")
    p.add_argument("--runs", type=Path, metavar="DIR",
                   help="the kit's run folders paxos/ and raft/ with the specs (default: "
                   "DIR/run of --tlc)")
    p.add_argument("--only", choices=list(BY_LABEL), action="append",
                   help="run only this configuration (repeatable)")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--workers", type=int, default=1, help="agree --workers and TLC -workers")
    p.add_argument("--agree", default=shutil.which("agree") or "agree",
                   help="the agree executable (default: the one on PATH)")
    p.add_argument("--write-docs", action="store_true",
                   help="write docs/benchmarks/vs-tlc.md from this run")
    a = p.parse_args()
    if a.rounds < 1 or a.workers < 1:
        p.error("--rounds and --workers must be at least 1")
    tlc: tuple[Path, Path] | None = None
    if a.tlc is not None:
        runs = a.runs or a.tlc / "run"
        missing = [str(f) for f in (a.tlc / "tla2tools.jar", a.tlc / "CommunityModules.jar",
                                    a.tlc / "tlalib", runs / "paxos", runs / "raft")
                   if not f.exists()]
        if missing:
            p.error(f"--tlc: missing {', '.join(missing)} (see tlc-kit/README.md)")
        if shutil.which("java") is None:
            p.error("--tlc: no java on PATH")
        tlc = (a.tlc.resolve(), runs.resolve())
    elif a.workers > 1:
        p.error("--workers needs --tlc: the recorded TLC times are one worker's")
    configs = [BY_LABEL[x] for x in dict.fromkeys(a.only)] if a.only else CONFIGS
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average {load}", flush=True)
    rows = [measure(c, a.rounds, a.agree, tlc, a.workers) for c in configs]
    if a.write_docs:
        mode = "one process, TLC one worker" if a.workers == 1 else \
            f"{a.workers} workers each"
        write_page(
            "vs-tlc", "agree beside TLC",
            "The reference configurations (shared/reference/tlc-counts.md), every property "
            f"checked by both, {mode}: agree and TLC run in turn, each in a fresh process, "
            f"{a.rounds} round(s); times are whole-process wall seconds (medians), ratio "
            "agree / TLC. Both reach the reference distinct states and depth; generated "
            "counts are shown as each tool reports them. Without a TLC build the TLC "
            "column holds recorded figures (issue 17, side by side at cc6b616), marked so.",
            [Table("agree and TLC", Provenance.now(),
                   ["configuration", "distinct", "agree generated", "TLC generated",
                    "depth", "agree", "TLC", "ratio"], rows,
                   f"Load average when the run began: {load} (1, 5, 15 min); agree is one "
                   "single-threaded process, TLC a JVM with helper threads, so a loaded "
                   "machine skews the ratio: compare on a quiet one.")],
            "python benchmarks/vs_tlc.py [--tlc DIR] --write-docs")


if __name__ == "__main__":
    main()
