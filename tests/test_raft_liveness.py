"""Raft's elections under a partial partition (models/raft_liveness.py): the livelock
without PreVote and CheckQuorum as a lasso, a leader that stays with them, the term
normalisation checked to be a bisimulation, and the lasso replayed with raft's own
``term + 1``; plus the engine's ``eventually_always`` on a toy spec."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from agree.checker.liveness import check_liveness
from agree.checker.run import check
from agree.cli.main import main
from agree.models.raft_liveness import (
    LEADER,
    PROPERTIES,
    RaftLiveness,
    RaftLivenessState,
    normalise_terms,
    shift_terms,
    term_class,
    used_terms,
)
from agree.protocols import registry
from agree.spec import Spec, SpecError, Transition, action, eventually_always, property_of
from agree.traces.trace import Step, Trace, load_trace

#: (prevote, check_quorum) -> (distinct states, edges, leader_stays holds), partition on.
PINNED = {(False, False): (47, 64, False), (False, True): (37, 50, True),
          (True, False): (50, 64, False), (True, True): (42, 64, True)}


def _is_fair_lasso(spec: RaftLiveness, trace: Trace) -> bool:
    """Independently of the checker: the loop closes, and every fair action instance
    enabled in every state of the cycle is taken on it."""
    assert trace.loop is not None
    states = trace.states
    if states[-1] != states[trace.loop]:
        return False
    taken = {s.label for s in trace.steps[trace.loop:]}
    always: set[str] | None = None
    for state in states[trace.loop:-1] or [states[-1]]:
        enabled = {t.label for t in spec.successors(state)
                   if t.action.label in spec.weak_fairness and t.state != state}
        always = enabled if always is None else always & enabled
    return not (always or set()) - taken


@pytest.mark.parametrize(("prevote", "check_quorum"), sorted(PINNED))
def test_partial_partition_pinned(prevote: bool, check_quorum: bool) -> None:
    spec = RaftLiveness(prevote=prevote, check_quorum=check_quorum)
    result = check_liveness(spec, PROPERTIES)
    distinct, edges, holds = PINNED[prevote, check_quorum]
    assert (result.distinct, result.edges) == (distinct, edges)
    assert (result.verdict == "holds") == holds
    for v in result.violations:
        assert v.property == "leader_stays" and _is_fair_lasso(spec, v.trace)
        cycle = v.trace.states[v.trace.loop:]
        # leadership changes hands along the cycle: s1 and s3 (cut from each other) both
        # lead in it, again and again
        assert any(s.role[0] == LEADER for s in cycle) and any(s.role[2] == LEADER
                                                               for s in cycle)
        labels = [s.label for s in v.trace.steps[v.trace.loop:]]
        assert any(x.startswith("Timeout(i=s1") for x in labels)
        assert any(x.startswith("Timeout(i=s3") for x in labels)


def test_without_a_partition_a_leader_stays_with_or_without_the_options() -> None:
    for prevote in (False, True):
        for cq in (False, True):
            spec = RaftLiveness(prevote=prevote, check_quorum=cq, partition=False)
            assert check_liveness(spec, PROPERTIES).verdict == "holds", (prevote, cq)


def test_election_safety_holds_on_four_servers() -> None:
    counts = {}
    for prevote in (False, True):
        for cq in (False, True):
            spec = RaftLiveness(servers=4, prevote=prevote, check_quorum=cq)
            result = check(spec, PROPERTIES[:1])
            assert result.complete and not result.violations, (prevote, cq)
            counts[prevote, cq] = result.distinct
    assert counts == {(False, False): 406, (False, True): 294, (True, False): 199,
                      (True, True): 201}


def _key(spec: RaftLiveness, s: RaftLivenessState, t: Transition[Any]) -> tuple[Any, ...]:
    """A step's label with a chosen term renamed as the un-normalised ``spec`` renames
    ``s`` (the label the same step has in the normalised model)."""
    args = t.params
    if "t" in args and not spec.normalise:
        renamed = args["t"] - used_terms(s)[0] if spec.plus_one else term_class(s, args["t"])
        args = {**args, "t": renamed}
    return (t.action.label, tuple(sorted(args.items())))


def _step_key(spec: RaftLiveness, step: Step) -> tuple[Any, ...]:
    names = spec.action(step.action).param_names
    return (step.action, tuple(sorted(zip(names, step.args, strict=True))))


def _raw_states(spec: RaftLiveness, depth: int) -> Iterable[RaftLivenessState]:
    seen: set[RaftLivenessState] = set()
    queue = deque((s, 0) for s in spec.init())
    while queue:
        s, d = queue.popleft()
        if s in seen:
            continue
        seen.add(s)
        yield s
        if d < depth:
            queue.extend((t.state, d + 1) for t in spec.successors(s))


@pytest.mark.parametrize("plus_one", [False, True])
@pytest.mark.parametrize(("prevote", "check_quorum"), [(False, False), (True, True)])
def test_term_renaming_is_a_bisimulation(prevote: bool, check_quorum: bool,
                                         plus_one: bool) -> None:
    """R = {(s, rename(s))}: every raw state's steps, renamed, are exactly its image's
    steps (same labels, up to the renaming of a chosen term), so each simulates the other;
    and the raw states reached reach every state of the finite graph."""
    opts = {"prevote": prevote, "check_quorum": check_quorum, "plus_one": plus_one}
    raw = RaftLiveness(**opts, normalise=False)
    norm = RaftLiveness(**opts)
    rename = shift_terms if plus_one else normalise_terms
    images = set()
    count = 0
    for s in _raw_states(raw, 12):
        count += 1
        image = rename(s)
        images.add(image)
        ours = {(_key(raw, s, t), rename(t.state)) for t in raw.successors(s)}
        theirs = {(_key(norm, image, t), t.state) for t in norm.successors(image)}
        assert ours == theirs, s
    graph = check_liveness(norm, PROPERTIES)
    assert count >= graph.distinct
    assert len(images) == graph.distinct  # and its images are the whole finite graph


def _shift(s: RaftLivenessState, d: int) -> RaftLivenessState:
    return s._replace(term=tuple(t + d for t in s.term),
                      next_term=tuple(None if t is None else t + d for t in s.next_term))


@pytest.mark.parametrize("prevote", [False, True])
def test_the_livelock_is_raft_with_terms_growing_forever(prevote: bool) -> None:
    """The ``plus_one`` lasso (raft's own term + 1) replayed on integer terms: each state
    shifts to the lasso's, and each pass round the loop ends in its start with every term
    raised by the same d > 0: leadership changes hands forever and terms grow without
    bound."""
    spec = RaftLiveness(prevote=prevote, plus_one=True)
    raw = RaftLiveness(prevote=prevote, plus_one=True, normalise=False)
    trace = check_liveness(spec, PROPERTIES).violations[0].trace
    assert trace.loop is not None and _is_fair_lasso(spec, trace)
    loop = list(zip(trace.steps[trace.loop:], trace.states[trace.loop + 1:], strict=True))
    plan = list(zip(trace.steps, trace.states[1:], strict=True)) + loop + loop
    s = next(iter(raw.init()))
    passes = []
    for k, (step, want) in enumerate(plan):
        if k >= trace.loop and (k - trace.loop) % len(loop) == 0:
            passes.append(s)
        nxt = [t.state for t in raw.successors(s) if _key(raw, s, t) == _step_key(spec, step)]
        assert len(nxt) == 1 and shift_terms(nxt[0]) == want, (k, step.label)
        s = nxt[0]
    passes.append(s)
    rises = {b.term[0] - a.term[0] for a, b in pairwise(passes)}
    assert len(rises) == 1
    d = rises.pop()
    assert d > 0 and all(_shift(a, d) == b for a, b in pairwise(passes))


def test_check_command_shows_the_lasso_and_the_fix(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    out_file = tmp_path / "lasso.json"
    assert main(["check", "raft-liveness", "--trace-out", str(out_file)]) == 1
    # after the safety report, the lasso goes beside --trace-out, and replays as one
    lasso = tmp_path / "lasso.leader_stays.json"
    assert load_trace(lasso, registry.resolve).loop == 7
    assert main(["trace", "html", str(lasso), "-o", str(tmp_path / "lasso.html")]) == 0
    assert "BecomeLeader(i=s3)" in (tmp_path / "lasso.html").read_text()
    out = capsys.readouterr().out
    assert "VIOLATED: leader_stays (eventually_always): a lasso of 17 steps, looping from " \
        "state 7" in out
    assert "loops back to the state after step 7 forever" in out
    assert main(["check", "raft-liveness", "--prevote", "True", "--check-quorum",
                 "True"]) == 0
    assert "All liveness properties hold" in capsys.readouterr().out


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(SpecError, match="at least 3 servers"):
        RaftLiveness(servers=2)
    with pytest.raises(SpecError, match="2 to 5"):
        RaftLiveness(servers=1, partition=False)


# -- the engine's <>[]P on a toy: a ring 0 -> 1 -> 2 -> 0, or a path that ends in 2 --------

class Ring(Spec[int]):
    name = "ring"

    def __init__(self, ring: bool = True) -> None:
        self.ring = ring

    def init(self) -> Iterable[int]:
        yield 0

    @action()
    def next(self, s: int) -> int | None:
        if s == 2:
            return 0 if self.ring else None
        return s + 1


@eventually_always
def at_two(spec: Ring, s: int) -> bool:
    return s == 2


def test_eventually_always_on_a_toy() -> None:
    prop = property_of(at_two)
    fair = type("FairRing", (Ring,), {"weak_fairness": ("Next",)})
    # a fair ring leaves 2 forever again: violated, with the cycle as the loop
    v = check_liveness(fair(), [prop]).violations
    assert len(v) == 1 and v[0].trace.loop is not None
    assert [s for s in v[0].trace.states[v[0].trace.loop:]].count(2) == 1
    # the path stops in 2 and stays: holds
    assert check_liveness(fair(ring=False), [prop]).verdict == "holds"
    # without fairness, stuttering in 0 forever violates it
    lazy = check_liveness(Ring(ring=False), [prop]).violations
    assert len(lazy) == 1 and len(lazy[0].trace) == 0


def test_election_safety_names_both_leaders_when_it_fails() -> None:
    spec = RaftLiveness()
    s = next(iter(spec.init()))
    two = s._replace(term=(2, 0, 2), role=(LEADER, "F", LEADER))
    prop = next(p for p in PROPERTIES if p.name == "election_safety")
    assert prop.holds(spec, s)
    w = prop.fn(spec, two)
    assert not w and w.data == {"term": 2, "leaders": (0, 2)}
    facts = w.facts()
    assert [f.text for f in facts] == ["s1 leads in term 2", "s3 leads in term 2"]
    assert [f.holds(two) for f in facts] == [True, True]
    assert [f.holds(s) for f in facts] == [False, False]
