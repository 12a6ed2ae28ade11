"""Benchmark pages for the docs: every measured table is written here, with when, at
which commit and on what machine it was measured.

A benchmark script run with ``--write-docs`` passes its table to :func:`write_page`,
which writes ``docs/benchmarks/NAME.md``. Each table carries its provenance: measured
now (date, ``git rev-parse --short HEAD``, cores, memory, load average), or recorded
earlier and not regenerated (the commit and date at which it was measured), so a figure
in the docs is either fresh or visibly old. Other pages link to these pages instead of
copying their numbers.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks"


@dataclass(frozen=True)
class Provenance:
    """Where a table's figures come from: this run, or an earlier recorded one."""

    regenerated: bool
    text: str

    @classmethod
    def now(cls) -> Provenance:
        """Measured by this run, on this machine, at this commit."""
        date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        return cls(True, f"Measured {date} at commit `{_commit()}` on {_machine()}; "
                         f"load average {load} (1, 5, 15 min).")

    @classmethod
    def recorded(cls, commit: str, date: str, how: str) -> Provenance:
        """Figures measured at ``commit`` on ``date`` (``how``: the machine, the load)."""
        return cls(False, f"**Not regenerated**: recorded figures, measured at commit "
                          f"`{commit}` ({date}); {how}.")


@dataclass(frozen=True)
class Table:
    """One measured table: its heading, provenance, columns, rows and a note under it."""

    heading: str
    provenance: Provenance
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    note: str = ""


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                                "--", ".", ":!docs"],
                               cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _machine() -> str:
    memory = "unknown memory"
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        memory = f"{kib / 2**20:.1f} GiB memory"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores, {memory}"


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value).replace("|", "\\|")


def markdown(table: Table) -> str:
    """A table as Markdown: heading, provenance line, the table, the note."""
    lines = [f"## {table.heading}", "", table.provenance.text, "",
             "| " + " | ".join(table.columns) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines) + "\n"


def write_page(name: str, title: str, intro: str, tables: Sequence[Table],
               command: str) -> Path:
    """Write ``docs/benchmarks/NAME.md``: title, what is measured, how to regenerate it,
    then each table with its provenance. Returns the path written."""
    body = [f"# {title}", "", intro.strip(), "",
            f"Written by `{command}`; run it to regenerate the page.", ""]
    body += [markdown(t) for t in tables]
    DOCS.mkdir(parents=True, exist_ok=True)
    path = DOCS / f"{name}.md"
    path.write_text("\n".join(body))
    print(f"wrote {path.relative_to(ROOT)}")
    return path
