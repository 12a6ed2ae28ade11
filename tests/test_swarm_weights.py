"""Weighted swarm walks (checker/swarm.py, `agree simulate --swarm --weighted F`): a
message delivered late, after the rest of the run, found from Init where bounded BFS and
the subset walks with the same seed are not; and `agree trace ... --spec FILE.py`,
which opens the traces a user's spec file writes."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from _cli import assert_refused, one_line_error, run

from agree import Spec, action, invariant
from agree.checker.run import check
from agree.checker.swarm import _Weights, swarm
from agree.spec import Transition

ROOT = Path(__file__).resolve().parent.parent
HASTY = str(ROOT / "examples" / "two_phase_commit_hasty.py")
TWO_PC = str(ROOT / "examples" / "two_phase_commit.py")


class SetState(NamedTuple):
    leader: int
    follower: int
    high: int  # the highest value the follower ever took (a history)
    inflight: frozenset[int]
    bits: tuple[int, ...]


class StaleSet(Spec[SetState]):
    """A leader's value goes up and it sends it; the follower takes any value it receives,
    a stale one too. The bug: the message sent at the start is delivered after the
    follower took the top value, so it falls back by ``top``. Noise bits that flip freely
    widen the state space beyond a small BFS budget."""

    name = "stale-set"

    def __init__(self, top: int = 6, noise: int = 8) -> None:
        self.top, self.noise = top, noise
        self.bit_ids = range(noise)

    def init(self) -> Any:
        yield SetState(0, 0, 0, frozenset(), (0,) * self.noise)

    @action()
    def bump(self, s: SetState) -> SetState | None:
        return s._replace(leader=s.leader + 1) if s.leader < self.top else None

    @action()
    def send(self, s: SetState) -> SetState | None:
        return None if s.leader in s.inflight else s._replace(inflight=s.inflight | {s.leader})

    def pending(self, s: SetState) -> list[int]:
        return sorted(s.inflight)

    @action(v=pending)
    def deliver(self, s: SetState, v: int) -> SetState | None:
        return s._replace(follower=v, high=max(s.high, v), inflight=s.inflight - {v})

    @action(i="bit_ids")
    def flip(self, s: SetState, i: int) -> SetState | None:
        return s._replace(bits=(*s.bits[:i], 1 - s.bits[i], *s.bits[i + 1:]))

    def constraint(self, s: SetState) -> bool:
        return len(s.inflight) <= 2

    @invariant
    def no_big_fall(self, s: SetState) -> bool:
        return s.high - s.follower < self.top


def test_a_late_delivery_is_found_from_init_where_bounded_bfs_is_not() -> None:
    spec = StaleSet()
    bfs = check(spec, max_states=5_000)
    assert not bfs.violations and not bfs.complete  # the budget ran out first
    plain = swarm(spec, seed=2, walks=300)  # subset walks only (the default)
    assert not plain.violations and plain.weighted == 0
    r = swarm(spec, seed=2, walks=300, weighted=0.5)  # measured: found after 19 walks
    v = r.violation("no_big_fall")
    assert v is not None and v.trace is not None, "not found within 300 walks"
    assert r.weighted == r.runs // 2  # every other walk is weighted
    states = v.trace.states
    assert states[-1].high - states[-1].follower >= spec.top
    assert all(spec.constraint(s) and s.high - s.follower < spec.top for s in states[:-1])
    assert len(v.trace) >= 10  # send 0, six bumps, send 6, deliver 6, deliver 0
    # the value 0 stayed in flight while the follower took the top value
    assert v.trace.steps[-1].action == "Deliver"
    assert v.trace.steps[-1].args == (0,)


def test_weights_are_drawn_once_per_step_and_starve_some() -> None:
    spec = StaleSet()
    s = next(iter(spec.init()))
    steps: list[Transition[Any]] = list(spec.successors(s))
    w = _Weights(random.Random("w"))
    first = [w.choose(steps) for _ in range(2_000)]
    keys = {(t.action.label, t.args) for t in steps}
    assert set(w.weights) == keys | {t.action.label for t in steps}  # drawn once each
    counts = {k: sum(1 for t in first if (t.action.label, t.args) == k) for k in keys}
    # skewed: the favourite step is taken far more often than under a uniform choice
    assert max(counts.values()) > 3 * 2_000 / len(keys)


def test_trace_commands_open_a_user_spec_trace_with_spec(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = str(tmp_path / "hasty.json")
    code, out, err = run(capsys, "check", HASTY, "--trace-out", trace)
    assert code == 1, out + err
    code, _, err = run(capsys, "trace", "show", trace)  # the name alone is not enough
    assert code == 2 and "add --spec FILE.py" in one_line_error(err)
    code, out, _ = run(capsys, "trace", "show", trace, "--spec", HASTY)
    assert code == 0 and "two-phase-commit-hasty" in out and "decision_sent" in out
    code, out, _ = run(capsys, "trace", "replay", trace, "--spec", HASTY)
    assert code == 0 and "replays: 1 steps of two-phase-commit-hasty" in out
    code, out, _ = run(capsys, "trace", "minimize", trace, "--spec", HASTY, "--no-config")
    assert code == 0 and "decision_sent fails in 1 steps" in out


@pytest.mark.parametrize("spec_ref, says", [
    (TWO_PC, "defines spec 'two-phase-commit', not 'two-phase-commit-hasty'"),
    ("raft", "give the spec's FILE.py"),
    ("no/such/file.py", "no such spec file"),
])
def test_a_wrong_spec_file_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], spec_ref: str, says: str) -> None:
    trace = str(tmp_path / "hasty.json")
    assert run(capsys, "check", HASTY, "--trace-out", trace)[0] == 1
    code, _, err = run(capsys, "trace", "replay", trace, "--spec", spec_ref)
    assert_refused(code, err)
    assert says in err


@pytest.mark.parametrize("argv", [
    ["--weighted", "0.5"],  # not a swarm
    ["--swarm", "--weighted", "1.5"],
    ["--swarm", "--weighted", "-0.1"],
])
def test_bad_weighted_flags_are_one_line_errors(capsys: pytest.CaptureFixture[str],
                                                argv: list[str]) -> None:
    code, _, err = run(capsys, "simulate", "raft", *argv)
    assert_refused(code, err)
