"""Raft's elections under a partial partition, and raft.tla with PreVote and CheckQuorum.

Liveness (models/raft_liveness.py, ``agree check raft-liveness``): 3 servers, s3 reaching
only s2; for each combination of etcd's PreVote and CheckQuorum, whether a leader
eventually stays (``leader_stays``, ``<>[]`` exactly one leader, under strong fairness of
each server's ``Timeout`` and weak fairness of the rest), on the finite graph where terms
are renamed by order (``order``) or raft's own ``term + 1`` is shifted (``plus one``; with
CheckQuorum alone that graph is infinite, so it is not run). Without a partition a leader
stays in every combination. Then four and five servers, the last reaching only the one
before it (``plus one`` only with PreVote: without it the cut-off server's term rises
forever), with the verdict were ``Timeout`` only weakly fair. Safety
(models/raft_prevote.py, ``agree check raft-prevote``): Raft's safety properties,
breadth-first, on small configurations. Below the tables: the lasso without the
options, as ``agree check raft-liveness`` prints it.

    python benchmarks/raft_liveness.py [--write-docs]   # docs/benchmarks/raft-liveness.md
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

from report import Provenance, Table, write_page

from agree.checker.liveness import check_liveness
from agree.checker.run import check
from agree.cli.main import main as agree
from agree.models.raft_liveness import PROPERTIES, RaftLiveness
from agree.models.raft_prevote import RaftPreVote
from agree.properties.raft import SAFETY

OPTIONS = [(False, False), (True, False), (False, True), (True, True)]
SAFETY_CONFIGS = [
    {"servers": 2, "max_term": 2, "max_log": 1, "max_messages": 1},
    {"servers": 2, "max_term": 2, "max_log": 0, "max_messages": 2, "max_restarts": 0},
]


def _opts(prevote: bool, check_quorum: bool) -> str:
    on = [n for n, v in (("PreVote", prevote), ("CheckQuorum", check_quorum)) if v]
    return " + ".join(on) or "neither"


def liveness_rows() -> list[list[object]]:
    rows: list[list[object]] = []
    for partition in (True, False):
        for prevote, cq in OPTIONS:
            for plus_one in (False, True):
                if plus_one and cq and not prevote:
                    continue  # terms rise forever: no finite graph
                spec = RaftLiveness(prevote=prevote, check_quorum=cq, partition=partition,
                                    plus_one=plus_one)
                t = time.perf_counter()
                result = check_liveness(spec, PROPERTIES)
                seconds = time.perf_counter() - t
                lasso = next((f"{len(v.trace)} steps, loop from {v.trace.loop}"
                              for v in result.violations), "")
                rows.append(["partial" if partition else "none", _opts(prevote, cq),
                             "plus one" if plus_one else "order", result.distinct,
                             result.edges, result.verdict == "holds", lasso,
                             f"{seconds:.2f}"])
                print(rows[-1], flush=True)
    return rows


class WeakTimeout(RaftLiveness):
    """raft-liveness with ``Timeout`` only weakly fair, as before strong fairness."""

    weak_fairness = (*RaftLiveness.weak_fairness, "Timeout")
    strong_fairness = ()


def more_servers_rows() -> list[list[object]]:
    rows: list[list[object]] = []
    for servers in (4, 5):
        for prevote, cq in OPTIONS:
            for plus_one in (False, True):
                if plus_one and not prevote:
                    continue  # the cut-off server's term rises forever: no finite graph
                kw = {"servers": servers, "prevote": prevote, "check_quorum": cq,
                      "plus_one": plus_one}
                t = time.perf_counter()
                result = check_liveness(RaftLiveness(**kw), PROPERTIES)  # type: ignore[arg-type]
                seconds = time.perf_counter() - t
                weak = check_liveness(WeakTimeout(**kw), PROPERTIES)  # type: ignore[arg-type]
                lasso = next((f"no: {len(v.trace)} steps, loop from {v.trace.loop}"
                              for v in weak.violations), "yes")
                rows.append([servers, _opts(prevote, cq), "plus one" if plus_one else "order",
                             result.distinct, result.edges, result.verdict == "holds", lasso,
                             f"{seconds:.2f}"])
                print(rows[-1], flush=True)
    return rows


def safety_rows() -> list[list[object]]:
    rows: list[list[object]] = []
    for cfg in SAFETY_CONFIGS:
        for prevote, cq in OPTIONS:
            spec = RaftPreVote(**cfg, prevote=prevote, check_quorum=cq)  # type: ignore[arg-type]
            t = time.perf_counter()
            result = check(spec, SAFETY, stop_at_first=False)
            seconds = time.perf_counter() - t
            rows.append([" ".join(f"{k}={v}" for k, v in cfg.items()), _opts(prevote, cq),
                         result.distinct, result.complete and not result.violations,
                         f"{seconds:.1f}"])
            print(rows[-1], flush=True)
    return rows


def lasso_output() -> str:
    """What ``agree check raft-liveness`` prints, but the line naming its temporary trace file."""
    buf = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(buf):
        agree(["check", "raft-liveness", "--quiet", "--trace-out", str(Path(tmp) / "t.json")])
    lines = buf.getvalue().rstrip().splitlines()
    return "\n".join(line for line in lines if not line.startswith("trace written to "))


def main() -> None:
    live, more, safe = liveness_rows(), more_servers_rows(), safety_rows()
    if "--write-docs" in sys.argv[1:]:
        fence = "```"
        write_page(
            "raft-liveness", "Raft: PreVote, CheckQuorum and a partial partition",
            __doc__.split("\n\n    python")[0].split("\n", 2)[2],
            [Table("Does a leader stay? (agree check raft-liveness)", Provenance.now(),
                   ["partition", "options", "terms", "states", "edges", "leader stays",
                    "lasso", "seconds"], live,
                   "Seconds: building the graph and checking both properties. The lasso "
                   "without the options, as printed by `agree check raft-liveness` (its "
                   "terms renamed by order, so 0, 2 are the two terms in use):\n\n"
                   f"{fence}text\n{lasso_output()}\n{fence}"),
             Table("Four and five servers", Provenance.now(),
                   ["servers", "options", "terms", "states", "edges", "leader stays",
                    "were Timeout only weakly fair", "seconds"], more,
                   "Partial partition: the last server reaches only the one before it. "
                   "Seconds: the check with Timeout strongly fair. With Timeout only weakly "
                   "fair, the cut-off server, short of a quorum, campaigns forever: each of "
                   "its campaigns disables the other servers' timers, so weak fairness never "
                   "makes them fire."),
             Table("Safety with PreVote and CheckQuorum (agree check raft-prevote)",
                   Provenance.now(), ["configuration", "options", "states", "all hold",
                                      "seconds"], safe,
                   "Properties: properties/raft.py's safety ones (election safety, log "
                   "matching, leader completeness, ...). Neither option: raft.tla's own "
                   "counts."),
             Table("Three servers (recorded)", Provenance.recorded(
                 "22e0799", "2026-12-07", "2 cores shared with five other jobs (user CPU "
                 "3 min 51 s of 14 min 53 s wall)"),
                 ["command", "states (orbits)", "generated", "depth", "all hold", "seconds"],
                 [["agree check raft-prevote --servers 3 --max-log 0 --max-messages 1 "
                   "--max-restarts 0 --symmetry", 1611555, 16872158, 71, True, 891.5]],
                 "Not rerun by this script (a quarter of an hour); run the command.")],
            "python benchmarks/raft_liveness.py --write-docs")


if __name__ == "__main__":
    main()
