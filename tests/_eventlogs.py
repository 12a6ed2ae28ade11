"""Hand-driven Raft runs written with agree.eventlog, for the validator's tests.

A :class:`Run` keeps each server's variables and writes one batch per call: the events
given, then the State line with the variables as changed. It decides nothing: every
step is the test's, so a test shows exactly the behaviour it means (a deviation, or a
bug).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agree.conformance.validate_logs import Report, validate_files
from agree.eventlog import (
    EventLogWriter,
    append_entries,
    append_entries_response,
    request_vote,
    request_vote_response,
)

__all__ = ["A", "B", "C", "Run", "ae", "aer", "refused", "rv", "rvr"]

rv, rvr, ae, aer = request_vote, request_vote_response, append_entries, append_entries_response

#: three term-2 entries, the values a, b, c
A, B, C = (2, b"a"), (2, b"b"), (2, b"c")


def refused(report_text: str, ok: bool) -> None:
    """Assert that validation refused the run, as a violation or a non-behaviour."""
    assert not ok, report_text
    assert "NOT a behaviour of the spec" in report_text or "is violated" in report_text


class Run:
    """n servers, each with its log file under ``tmp``; variables start as raft.tla's."""

    def __init__(self, tmp: Path, n: int = 3) -> None:
        self.paths = [tmp / f"events{k}.jsonl" for k in range(n)]
        self.writers = [EventLogWriter(p, node=k) for k, p in enumerate(self.paths)]
        self.vars: list[dict[str, Any]] = [
            {"term": 1, "role": "Follower", "voted": None, "commit": 0, "log": []}
            for _ in range(n)]

    def batch(self, k: int, *events: tuple[Any, ...], **changes: Any) -> None:
        """Server k's batch: events as (writer method, args...), then its State with the
        variables changed as given (term, role, voted, commit, log, and the optional
        vr, vg, next, match, written only once set)."""
        w = self.writers[k]
        for name, *args in events:
            getattr(w, name)(*args)
        v = self.vars[k]
        old = list(v["log"])
        v.update(changes)
        new = list(v["log"])
        log_from = log_suffix = None
        if new != old:
            first = next((x for x in range(min(len(old), len(new))) if old[x] != new[x]),
                         min(len(old), len(new)))
            log_from, log_suffix = first + 1, new[first:]
        w.state(v["term"], v["role"], v["voted"], v["commit"],
                votes_responded=v.get("vr"), votes_granted=v.get("vg"),
                next_index=v.get("next"), match_index=v.get("match"),
                log_from=log_from, log_suffix=log_suffix)

    def elect(self) -> None:
        """s1 (node 0) is elected in term 2 with s2's vote; s3's request stays in flight."""
        self.batch(0, ("timeout",), ("vote_for_self", 2, 0, 0), ("send", rv(2, 0, 0, 0, 1)),
                   ("send", rv(2, 0, 0, 0, 2)),
                   term=2, role="Candidate", voted=0, vr=[0], vg=[0])
        m = rv(2, 0, 0, 0, 1)
        self.batch(1, ("receive", "UpdateTerm", m), ("receive", "HandleRequestVoteRequest", m),
                   term=2, voted=0)
        self.batch(0, ("receive", "HandleRequestVoteResponse", rvr(2, True, 1, 0)),
                   ("become_leader",), role="Leader", vr=[0, 1], vg=[0, 1],
                   next=[1, 1, 1], match=[0, 0, 0])

    def validate(self, *deviations: str, max_batch: int | None = None) -> Report:
        """The logs written so far (those not empty), validated with these deviations
        declared (none given: the default)."""
        for w in self.writers:
            w.close()
        paths = [str(p) for p in self.paths if p.exists() and p.stat().st_size]
        return validate_files(paths, max_batch, list(deviations) or None)
