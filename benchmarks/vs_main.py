"""Time this tree against another revision on the same checks: is the new code slower?

Runs ``agree check paxos`` (MaxBallot 2) and ``agree check raft --servers 3 --max-log 0
--max-messages 1`` with each of two source trees in turn, alternating (old, new, old,
new, ...) for ``--rounds`` rounds, each run in a fresh process, and prints every time,
the median of each side and the median of the per-round ratios new/old. The machine may
be shared: alternating keeps a change in its load from favouring one side.

The other tree is ``--other PATH`` (a checkout), or by default a throwaway ``git
worktree`` of ``--ref`` (default c3ba57c, the commit before the architecture refactor),
removed at the end. Nothing is built or installed: each tree is imported through a
temporary directory on PYTHONPATH holding a symlink ``agree -> <tree>`` (the package root
is the repository root). The command-line entry is ``agree.cli.main:main``, or
``agree.checker.cli:main`` in trees from before the refactor.

Timed: the check itself (``main``), in-process, after the imports: wall-clock time and
the process's CPU time (steadier when other jobs share the cores). The runs must agree
on the number of distinct states, or the comparison stops.

    python benchmarks/vs_main.py --rounds 5
    python benchmarks/vs_main.py --other /path/to/checkout --only raft
    python benchmarks/vs_main.py --instructions 20000   # also count instructions (valgrind)
    python benchmarks/vs_main.py --raft='--servers 2' --rounds 7   # a small raft run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

CONFIGS: dict[str, list[str]] = {
    "paxos": ["check", "paxos"],
    "raft": ["check", "raft", "--servers", "3", "--max-log", "0", "--max-messages", "1"],
}

# Run in the child: import the CLI of whichever layout the tree has, time main().
_CHILD = r"""
import contextlib, importlib, io, json, sys, time
# An editable install of agree would answer for modules this tree lacks: drop its finder.
sys.meta_path[:] = [f for f in sys.meta_path
                    if not getattr(f, "__module__", "").startswith("__editable__")]
args = sys.argv[1:]
mod = None
for name in ("agree.cli.main", "agree.checker.cli"):
    try:
        mod = importlib.import_module(name)
        break
    except ModuleNotFoundError:
        continue
if mod is None:
    sys.exit("no agree CLI found on PYTHONPATH")
out = io.StringIO()
start, cpu = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(out):
    try:
        code = mod.main(args)
    except SystemExit as exc:
        code = exc.code
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "code": code, "out": out.getvalue(),
                  "root": mod.__file__}))
"""


def _run(link_dir: str, args: list[str], valgrind: bool = False) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": link_dir, "PYTHONHASHSEED": "0"}
    prefix = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] if valgrind else []
    proc = subprocess.run([*prefix, sys.executable, "-c", _CHILD, *args], env=env, cwd=link_dir,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({' '.join(args)}):\n{proc.stderr[-2000:]}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    if valgrind:
        found = re.search(r"Collected : (\d+)", proc.stderr)
        if found is None:
            raise SystemExit(f"valgrind printed no instruction count:\n{proc.stderr[-2000:]}")
        result["instructions"] = int(found.group(1))
    return result


def instructions(old: Path, new: Path, states: int, only: list[str]) -> list[list[object]]:
    """Instructions executed (valgrind's callgrind: the same count whatever else the
    machine does) by each tree's check cut at ``states`` distinct states, less its
    start-up (the same check cut at 1 state): one row per configuration."""
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="vs_main.") as tmp:
        sides = {"old": _link(old, tmp, "old"), "new": _link(new, tmp, "new")}
        for config in only:
            base = CONFIGS[config]
            args = [*base, "--max-states", str(states)]
            counts = {}
            for side in ("old", "new"):
                full = _run(sides[side], args, valgrind=True)
                start = _run(sides[side], [*base, "--max-states", "1"], valgrind=True)
                counts[side] = int(str(full["instructions"])) - int(str(start["instructions"]))
            ratio = counts["new"] / counts["old"]
            print(f"== agree {' '.join(args)}: instructions old {counts['old']:,}, new "
                  f"{counts['new']:,}, new/old {ratio:.3f}", flush=True)
            rows.append([f"`agree {' '.join(args)}`", counts["old"], counts["new"],
                         f"{ratio:.3f}"])
    return rows


def _distinct(out: str) -> str:
    m = re.search(r"distinct states\s+([\d,]+)", out)
    return m.group(1) if m else "?"


def _link(tree: Path, parent: str, name: str) -> str:
    d = Path(parent) / name
    d.mkdir()
    (d / "agree").symlink_to(tree.resolve(), target_is_directory=True)
    return str(d)


def compare(old: Path, new: Path, rounds: int, only: list[str]) -> list[list[object]]:
    """Alternate the two trees on each configuration; one summary row per configuration."""
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="vs_main.") as tmp:
        sides = {"old": _link(old, tmp, "old"), "new": _link(new, tmp, "new")}
        for config in only:
            args = CONFIGS[config]
            print(f"== agree {' '.join(args)}")
            times: dict[str, list[float]] = {"old": [], "new": []}
            cpus: dict[str, list[float]] = {"old": [], "new": []}
            counts: set[str] = set()
            for r in range(rounds):
                order = ("old", "new") if r % 2 == 0 else ("new", "old")
                row = []
                for side in order:
                    res = _run(sides[side], args)
                    if r == 0 and not str(res["root"]).startswith(sides[side]):
                        raise SystemExit(f"{side}: imported agree from {res['root']}, not "
                                         f"from the tree under test (check PYTHONPATH)")
                    times[side].append(float(str(res["seconds"])))
                    cpus[side].append(float(str(res["cpu"])))
                    counts.add(f"{_distinct(str(res['out']))} (exit {res['code']})")
                    row.append(f"{side} {times[side][-1]:7.2f}s (cpu {cpus[side][-1]:7.2f}s)")
                print(f"  round {r + 1}: " + "  ".join(row), flush=True)
            if len(counts) != 1:
                raise SystemExit(f"  the trees disagree: {sorted(counts)}")
            distinct = counts.pop()
            print(f"  distinct states {distinct}")
            row_out: list[object] = [f"`agree {' '.join(args)}`", distinct, rounds]
            for what, t in (("wall", times), ("cpu", cpus)):
                ratios = [n / o for n, o in zip(t["new"], t["old"], strict=True)]
                print(f"  {what}: median old {statistics.median(t['old']):.2f}s, new "
                      f"{statistics.median(t['new']):.2f}s, median ratio new/old "
                      f"{statistics.median(ratios):.3f}", flush=True)
                row_out += [f"{statistics.median(t['old']):.2f} s",
                            f"{statistics.median(t['new']):.2f} s",
                            f"{statistics.median(ratios):.3f}"]
            rows.append(row_out)
    return rows


def write_docs(rows: list[list[object]], ref: str,
               counted: list[list[object]] | None = None) -> None:
    """docs/benchmarks/vs-main.md: this tree against ``ref``, with provenance."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from report import Provenance, Table, write_page

    columns = ["check", "distinct (exit)", "rounds", "wall old", "wall new",
               "wall new/old", "cpu old", "cpu new", "cpu new/old"]
    write_page("vs-main", "The refactor against the code before it",
               f"Each check run with the other revision (`{ref}`) and with this tree in "
               "turn, alternating, each in a fresh process; times are the check itself "
               "(after the imports); ratios are medians of the per-round ratios new/old.",
               [Table("Both revisions, in turn", Provenance.now(), columns, rows),
                *([Table("Instructions executed (valgrind)", Provenance.now(),
                         ["check", "old", "new", "new/old"], counted,
                         "Start-up (the same check cut at one state) subtracted.")]
                  if counted else [])],
               "python benchmarks/vs_main.py --write-docs")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--other", type=Path, help="the other (old) checkout; default: a "
                   "temporary git worktree of --ref")
    p.add_argument("--ref", default="c3ba57c", help="revision to compare against "
                   "(default: c3ba57c, before the architecture refactor)")
    p.add_argument("--new", type=Path, default=HERE, help="the new tree (default: this one)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", choices=sorted(CONFIGS), action="append",
                   help="run only this configuration (repeatable)")
    p.add_argument("--raft", metavar="ARGS", help="the raft configuration's flags instead "
                   "(a smaller run on a busy machine), e.g. --raft='--servers 2'")
    p.add_argument("--instructions", type=int, metavar="STATES",
                   help="also count the instructions each tree executes (valgrind) on each "
                   "configuration cut at STATES distinct states")
    p.add_argument("--write-docs", action="store_true",
                   help="write docs/benchmarks/vs-main.md from the results")
    a = p.parse_args()
    if a.raft is not None:
        CONFIGS["raft"] = ["check", "raft", *a.raft.split()]
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    only = a.only or list(CONFIGS)
    if a.other is not None:
        if not (a.other / "__init__.py").exists():
            p.error(f"--other {a.other}: not an agree source tree")
        rows = compare(a.other, a.new, a.rounds, only)
        counted = instructions(a.other, a.new, a.instructions, only) if a.instructions else None
        if a.write_docs:
            write_docs(rows, str(a.other), counted)
        return
    tmp = tempfile.mkdtemp(prefix="vs_main.old.")
    tree = Path(tmp) / "tree"
    add = subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", str(tree),
                          a.ref], capture_output=True, text=True, check=False)
    if add.returncode != 0:
        os.rmdir(tmp)
        p.error(f"git worktree add {a.ref}: {add.stderr.strip()}")
    try:
        rows = compare(tree, a.new, a.rounds, only)
        counted = instructions(tree, a.new, a.instructions, only) if a.instructions else None
        if a.write_docs:
            write_docs(rows, a.ref, counted)
    finally:
        subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(tree)],
                       capture_output=True, check=False)
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
