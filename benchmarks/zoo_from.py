"""The Raft zoo bugs beyond exhaustive search from Init, found by search from a prefix.

For each, the scenario of ``zoo_scenarios.py`` is cut to its first K steps, K no more than
the longest prefix that the *correct* protocol (models/raft.py, or models/raft_reconfig.py
for the membership-change zoo; same parameters) takes to the very same states: the prefix
is a behaviour of the correct protocol and holds none of the bug. That prefix is saved as
a trace of it (``traces/zoo_deep/prefix/NAME.json``) and

    agree check NAME --symmetry --from traces/zoo_deep/prefix/NAME.json \\
        --invariant PROPERTY --trace-out traces/zoo_deep/NAME.PROPERTY.json

searches exhaustively from the state it reaches; the steps after the prefix, the buggy
ones included, are the checker's (a shortest suffix from there). For raft's zoo, K was
lowered step by step (each step back costs ~1.3x the states) while the search stayed near
two minutes here. For the membership-change zoo, the correct ``raft-reconfig`` is then
searched from the same prefix with the same parameters (the fix checked where the bug was
found), under a time limit of CORRECT_LIMIT seconds; there K is chosen so that this search
of the correct spec completes within a few minutes here (it explores every continuation;
the variant stops at its first violation). Those prefixes end once every server has
reached the term the bug needs it in (a three-server prefix that leaves s3 in term 1, free
to time out, makes the correct spec's continuations outgrow a five-minute search here),
so a step back costs far more than 1.3x. Prints the figures; usage:

    python benchmarks/zoo_from.py [NAME ...] [--write-docs] [--recorded] [--no-correct]
        [--exercised]

For the correct spec, the new states of BecomeLeader, AddServer and RemoveServer are
printed (and tabled): a clean run in which no configuration change is ever taken is
vacuous about the fix. ``--exercised`` also searches, for the variants of EXERCISED, the
variant and the correct spec from an earlier step of the stored prefix with larger
bounds, where the correct spec does change the configuration.

``--write-docs`` writes docs/benchmarks/zoo-from.md from this run and the recorded
figures of the variants not run; ``--recorded`` writes it from the recorded ones only.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from report import Provenance, Table, write_page
from zoo_scenarios import SCENARIOS, build

from agree.checker.start_from import common_prefix, prefix_trace
from agree.cli.main import main as agree
from agree.protocols import registry
from agree.protocols.bundle import resolve_ref
from agree.traces.trace import save_trace

DEEP = Path(__file__).resolve().parent.parent / "traces" / "zoo_deep"
#: name -> K, the prefix length searched from.
PREFIX_STEPS = {"raft-commit-old-term": 31, "raft-truncate-on-stale-append": 11,
                "raft-reconfig-no-own-term-commit": 55, "raft-reconfig-concurrent-changes": 19,
                "raft-reconfig-two-at-once": 18}
COLUMNS = ["variant", "scenario (correct Raft shares)", "prefix K", "found by search",
           "orbits", "time"]
#: The correct protocol searched from the prefix: its columns, and its time limit (s).
CORRECT_COLUMNS = ["variant", "correct spec from the same prefix", "verdict", "orbits",
                   "depth", "time", "new leaders", "changes exercised"]
#: The actions whose new states show the correct spec elects and changes membership in
#: the space searched (a clean run where they find nothing new is vacuous about the fix).
LEADER_ACTION = "BecomeLeader"
CHANGE_ACTIONS = ("AddServer", "RemoveServer")
CORRECT_LIMIT = 600
#: name -> (K, parameters changed): a start and bounds where the correct spec does take
#: the changes the fix governs (a new leader commits an entry of its term, then changes
#: the configuration), searched with ``--exercised``: step K of the stored prefix, with
#: logs long enough for that (the catalog's max_log 2 leaves no room for it after K), and
#: one campaign per term (max_contenders 1: without it, servers that time out into the
#: term s1 campaigns in split the votes and the correct spec's search does not end in
#: twenty minutes; with it, it ends: docs/raft-reconfig.md).
EXERCISED = {"raft-reconfig-no-own-term-commit": (51, {"max_log": 3, "max_client_entries": 2,
                                                       "max_contenders": 1})}
EXERCISED_COLUMNS = ["spec", "start", "parameters changed", "verdict", "orbits", "depth",
                     "time", "new leaders", "changes exercised"]
#: The correct spec's JSON verdict as the table reads it.
VERDICTS = {"holds": "clean (exhaustive)", "incomplete": "incomplete (time limit)",
            "violated": "VIOLATED"}
#: Measured at commit 9414509 (2026-11-27), one process, on the shared 2-core machine.
RECORDED = {
    "raft-commit-old-term": ["55 steps (45)", 31, "last 23 of 54 steps", 111_992, "34 s"],
    "raft-truncate-on-stale-append": ["28 steps (16)", 11, "last 15 of 26 steps", 289_270,
                                      "89 s"],
}


def write_docs(rows: dict[str, list[object]], correct: dict[str, list[object]],
               exercised: list[list[object]]) -> None:
    """zoo-from.md: the variants run now, the correct protocol from their prefixes, the
    starts where the fix is exercised, then the recorded rows of the others."""
    tables = [Table("Measured now", Provenance.now(), COLUMNS,
                    [[n, *r] for n, r in rows.items()])] if rows else []
    if correct:
        tables.append(Table("The correct protocol from the same prefix", Provenance.now(),
                            CORRECT_COLUMNS, [[n, *r] for n, r in correct.items()],
                            "\"new leaders\" and \"changes exercised\": new states of "
                            "BecomeLeader, AddServer and RemoveServer, of those generated. "
                            "A clean run whose changes are \"none\" says nothing about the "
                            "fix: from that prefix no configuration change is possible."))
    if exercised:
        tables.append(Table("Where the fix is exercised", Provenance.now(),
                            EXERCISED_COLUMNS, exercised,
                            f"`--exercised`: the variant, then the correct spec (time limit "
                            f"{CORRECT_LIMIT} s), from step K of the stored prefix with "
                            "larger bounds, where a new leader may commit an entry of its "
                            "term and then change the configuration."))
    old = [[n, *r] for n, r in RECORDED.items() if n not in rows]
    if old:
        tables.append(Table("Recorded", Provenance.recorded(
            "9414509", "2026-11-27", "one process, `--symmetry`, shared 2-core machine"),
            COLUMNS, old))
    write_page("zoo-from", "Deep zoo bugs, searched from a correct prefix",
               "`agree check NAME --symmetry --from PREFIX.json` for the Raft zoo bugs "
               "beyond exhaustive search from Init: the prefix is K steps of a hand-written "
               "scenario that the *correct* protocol (raft, or raft-reconfig for the "
               "membership-change zoo) takes to the very same states; every buggy step "
               "after it is found by the checker. For the membership-change zoo, the "
               "correct raft-reconfig is then searched from the same prefix with the same "
               "parameters.", tables,
               "python benchmarks/zoo_from.py [NAME ...] --exercised --write-docs")


def run(name: str) -> list[object]:
    scenario = build(name)
    # the correct protocol of the variant (raft, or raft-reconfig for its zoo)
    raft = resolve_ref(registry.get(name).protocol.model)(**scenario.params)
    shared = common_prefix(scenario, raft)
    k = PREFIX_STEPS[name]
    assert k <= shared, f"{name}: the correct Raft leaves the scenario after step {shared}"
    (DEEP / "prefix").mkdir(parents=True, exist_ok=True)
    prefix = DEEP / "prefix" / f"{name}.json"
    save_trace(prefix_trace(scenario, k, raft), prefix)
    out = DEEP / f"{name}.{scenario.property}.json"
    start, buf = time.time(), io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = agree(["check", name, "--symmetry", "--from", str(prefix), "--invariant",
                      str(scenario.property), "--trace-out", str(out), "--quiet", "--json"])
    doc = json.loads(buf.getvalue())
    found = doc["start"]["found_steps"]
    print(f"{name}: scenario {len(scenario)} steps, the correct Raft shares its first "
          f"{shared}; prefix {k} steps -> {prefix.relative_to(DEEP.parent.parent)}")
    print(f"  exit {code} ({doc['verdict']}): {doc['distinct']:,} orbits, "
          f"{doc['generated']:,} states generated, depth {doc['depth']}, "
          f"{doc['seconds']:.0f} s ({time.time() - start:.0f} s with loading)")
    if found:
        print(f"  trace {k + found[0]} steps, the last {found[0]} found by search -> "
              f"{out.relative_to(DEEP.parent.parent)}")
    found_text = f"last {found[0]} of {k + found[0]} steps" if found else "none"
    return [f"{len(scenario)} steps ({shared})", k, found_text, doc["distinct"],
            f"{doc['seconds']:.0f} s"]


def run_correct(name: str) -> list[object] | None:
    """The variant's correct protocol (when it is not raft itself), searched from the same
    prefix with the same parameters: [protocol, verdict, orbits, depth, time]."""
    protocol = registry.get(name).protocol
    if protocol.name == "raft":
        return None
    scenario = build(name)
    flags = [x for k, v in scenario.params.items() if not isinstance(v, bool)
             for x in (f"--{k.replace('_', '-')}", str(v))]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = agree(["check", protocol.name, *flags, "--symmetry", "--from",
                      str(DEEP / "prefix" / f"{name}.json"), "--time-limit",
                      str(CORRECT_LIMIT), "--quiet", "--json"])
    doc = json.loads(buf.getvalue())
    leaders, changes = membership_coverage(doc["coverage"])
    print(f"  correct {protocol.name} from the prefix: exit {code} ({doc['verdict']}), "
          f"{doc['distinct']:,} orbits, depth {doc['depth']}, {doc['seconds']:.0f} s; "
          f"new states: {leaders}; {changes}")
    return [protocol.name, VERDICTS.get(doc["verdict"], doc["verdict"]), doc["distinct"],
            doc["depth"], f"{doc['seconds']:.0f} s", leaders, changes]


def membership_coverage(coverage: dict[str, dict[str, int]]) -> tuple[str, str]:
    """From a check's JSON coverage: the new states of BecomeLeader, and of AddServer and
    RemoveServer ("none" when a change is never taken to a new state)."""
    def new(action: str) -> str:
        stats = coverage.get(action, {})
        return f"{action} {stats.get('distinct', 0):,} of {stats.get('generated', 0):,}"
    exercised = any(coverage.get(a, {}).get("distinct", 0) for a in CHANGE_ACTIONS)
    changes = " / ".join(new(a) for a in CHANGE_ACTIONS)
    return new(LEADER_ACTION), changes if exercised else f"none ({changes})"


def run_exercised(name: str) -> list[list[object]]:
    """The variant and its correct spec from step K of the stored prefix, with the
    parameters of EXERCISED: one row each."""
    k, changed = EXERCISED[name]
    params = {**build(name).params, **changed}
    flags = [x for key, v in params.items() if not isinstance(v, bool)
             for x in (f"--{key.replace('_', '-')}", str(v))]
    start = f"{DEEP / 'prefix' / f'{name}.json'}:{k}"
    rows = []
    for spec in (name, registry.get(name).protocol.name):
        only = ["--invariant", "leader_completeness"] if spec == name else []
        buf = io.StringIO()
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(buf):
            code = agree(["check", spec, *flags, "--symmetry", "--from", start, *only,
                          "--time-limit", str(CORRECT_LIMIT), "--trace-out",
                          str(Path(tmp) / "trace.json"), "--quiet", "--json"])
        doc = json.loads(buf.getvalue())
        leaders, changes = membership_coverage(doc["coverage"])
        print(f"  {spec} from step {k}, {changed}: exit {code} ({doc['verdict']}), "
              f"{doc['distinct']:,} orbits, depth {doc['depth']}, {doc['seconds']:.0f} s; "
              f"new states: {leaders}; {changes}")
        rows.append([spec, f"step {k}", ", ".join(f"{a}={v}" for a, v in changed.items()),
                     VERDICTS.get(doc["verdict"], doc["verdict"]), doc["distinct"],
                     doc["depth"], f"{doc['seconds']:.0f} s", leaders, changes])
    return rows


def main() -> None:
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    names = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows: dict[str, list[object]] = {}
    correct: dict[str, list[object]] = {}
    if "--recorded" not in flags:
        for name in names or list(SCENARIOS):
            rows[name] = run(name)
            row = None if "--no-correct" in flags else run_correct(name)
            if row is not None:
                correct[name] = row
    exercised: list[list[object]] = []
    if "--exercised" in flags:
        for name in [n for n in names or list(EXERCISED) if n in EXERCISED]:
            exercised += run_exercised(name)
    if flags & {"--write-docs", "--recorded"}:
        write_docs(rows, correct, exercised)


if __name__ == "__main__":
    main()
