"""PreVote and CheckQuorum under a partial partition: unavailability, simulated.

The scenario of chaos/partial.py: a cluster of 3 or 5 servers elects a leader, then
one follower is cut off from every server but one peer (the leader among those it
cannot reach) for 30 simulated seconds, then healed for 5 more. Per 10 ms tick it is
noted whether some server is a leader that can commit (a leader with a quorum,
itself included, that it reaches and that are in its term). Columns: the seconds
without one while cut and after healing, the leaders elected meanwhile, and the
highest term reached (the cut-off server's, mostly). Each row sums five seeds (the
seconds, the elections) or takes their largest (the term). Two workloads: a client
writing one entry per tick to the leader (the cut-off server's log falls behind),
and an idle cluster (logs stay even, so the log comparison does not stop its
elections). Configurations: PreVote and CheckQuorum both on (the server's default),
both off (raft.tla's elections), and each alone.

    python benchmarks/bench_prevote.py [--write-docs]   # docs/benchmarks/prevote.md
"""

from __future__ import annotations

import sys

from report import Provenance, Table, write_page

from agree.chaos.partial import partial_partition
from agree.impl.raft import Config

SEEDS = range(5)
CONFIGS = (("PreVote + CheckQuorum (default)", True, True), ("neither", False, False),
           ("PreVote only", True, False), ("CheckQuorum only", False, True))


def row(nodes: int, writes: bool, name: str, pre_vote: bool, check_quorum: bool,
        ) -> list[object]:
    outs = [partial_partition(Config(pre_vote=pre_vote, check_quorum=check_quorum), seed,
                              nodes, 30.0, writes) for seed in SEEDS]
    return [nodes, "1 write / tick" if writes else "idle", name,
            f"{sum(o.unavailable for o in outs):.2f}", sum(o.elections for o in outs),
            f"{sum(o.unavailable_after for o in outs):.2f}",
            sum(o.elections_after for o in outs), max(o.max_term for o in outs)]


def main() -> None:
    cols = ["servers", "workload", "configuration", "s without a leader that can commit "
            "(cut, 5 x 30 s)", "elections (cut)", "s without one (healed, 5 x 5 s)",
            "elections (healed)", "highest term"]
    rows = []
    for writes in (True, False):
        for nodes in (3, 5):
            for name, pre_vote, check_quorum in CONFIGS:
                rows.append(row(nodes, writes, name, pre_vote, check_quorum))
                print("  ".join(str(c) for c in rows[-1]), flush=True)
    if "--write-docs" in sys.argv[1:]:
        write_page(
            "prevote", "PreVote and CheckQuorum under a partial partition (simulated)",
            __doc__.split("\n\n    python")[0].split("\n", 2)[2],
            [Table("Unavailability with and without PreVote and CheckQuorum",
                   Provenance.now(), cols, rows,
                   "Five seeds per row, 30 s cut then 5 s healed each; one tick is 10 ms "
                   "(election timeout 150-300 ms, heartbeats every 50 ms)."),
             ],
            "python benchmarks/bench_prevote.py --write-docs")


if __name__ == "__main__":
    main()
