"""Witnesses and the steps that matter: the API (a plain False still works, a user's
property returns a witness, a builder that raises leaves False), every pinned
counterexample explained, and the command line printing the summary. The witness of each
built-in property: tests/test_witnesses_paxos.py, tests/test_witnesses_raft.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _witness import ROOT, explained, found, stored

from agree.cli.main import main
from agree.models.paxos import Paxos, PaxosState
from agree.spec import Fact, Witness, invariant, property_of
from agree.spec.witness import fallible
from agree.traces.explain import explain
from agree.traces.trace import Trace


def test_a_plain_false_still_works_and_explains_nothing() -> None:
    @invariant
    def never(spec: Any, s: Any) -> bool:
        return False

    prop = property_of(never)
    spec = Paxos(acceptors=1, values=1, max_ballot=0)
    s = next(iter(spec.init()))
    assert prop.witness(spec, s) is None and not prop.holds(spec, s)
    trace = Trace(spec.name, spec.param_values(), s, [], "never", "invariant")
    assert not explain(spec, trace, [prop]) and explain(spec, trace, [prop]).key_steps == ()


def test_a_users_property_returns_a_witness() -> None:
    @invariant
    def at_most_one_1a(spec: Any, s: PaxosState) -> bool | Witness:
        """At most one 1a message (a toy property)."""
        sent = sorted((m for m in s.msgs if m.type == "1a"), key=tuple)
        if len(sent) <= 1:
            return True
        return Witness("two 1a messages", [tuple(
            Fact(str(m), lambda st, m=m: m in st.msgs) for m in sent[:2])])

    prop = property_of(at_most_one_1a)
    spec, trace, props = found(Paxos(acceptors=1, values=1, max_ballot=1), [prop],
                                "at_most_one_1a")
    expl = explain(spec, trace, props)
    assert expl.reason == "two 1a messages" and expl.key_steps == (1, 2)


def test_a_witness_builder_that_raises_leaves_a_plain_false() -> None:
    @fallible
    def broken() -> Witness:
        raise KeyError("oops")

    assert broken() is False


# -- every pinned counterexample, and the command line ---------------------------------------


@pytest.mark.parametrize("path", sorted([*ROOT.glob("golden/*.json"),
                                        *ROOT.glob("zoo_deep/*.json")]), ids=lambda p: p.stem)
def test_every_pinned_counterexample_is_explained(path: Path) -> None:
    spec, trace, props = stored(path.name)
    expl = explained(spec, trace, props)
    assert all(1 <= n <= len(trace) for n in expl.key_steps)
    delivered = {e.message for n, e in expl.key_messages
                 if n in expl.key_steps and e.kind == "deliver"}
    for n, e in expl.key_messages:  # a key step's arrow, or the send of what one consumed
        assert n in expl.key_steps or (e.kind == "send" and e.message in delivered)


def test_agree_check_prints_the_summary_before_the_trace(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "paxos-amnesia", "--invariant", "agreement", "--quiet",
                 "--trace-out", str(tmp_path / "t.json")])
    out = capsys.readouterr().out
    assert code == 1
    head, _, steps = out.partition("State 0 (initial)")
    assert "Why agreement fails: two values are chosen, v1 and v2\n" in head
    assert "  v1 chosen in ballot 0 by a1 (step 9)\n" in head
    assert "Key steps: 7, 9 (marked [key step] below)" in head
    marked = [ln for ln in steps.splitlines() if ln.endswith("[key step]")]
    assert [ln.split(":")[0] for ln in marked] == ["Step 7", "Step 9"]


def test_agree_check_json_carries_the_witness(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "paxos-amnesia", "--invariant", "agreement", "--json",
                 "--trace-out", str(tmp_path / "t.json")])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["violations"][0]["witness"] == {
        "reason": "two values are chosen, v1 and v2",
        "summary": ["v1 chosen in ballot 0 by a1 (step 9)", "v2 chosen in ballot 1 by a1 (step 7)"],
        "key_steps": [7, 9]}
