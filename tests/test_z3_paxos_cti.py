"""Counterexamples to induction end to end, and the prover's verdicts and exit codes.

A CTI is decoded into explicit Paxos states, printed with the trace renderer,
re-checked with the Python predicates and the explicit successor function, and
classified by an explicit search; here each of those steps is checked again
independently (our own BFS, our own predicate calls), on a zoo variant and on a
deliberately weakened invariant. Then: proved 0, counterexample 1, bad input 2,
unknown 4 (a tiny timeout), and the 5-acceptor and any-number proofs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from _fresh import in_fresh_process
from _search import reachable

from agree.cli.main import main
from agree.properties.paxos import INDUCTIVE, SAFETY
from agree.properties.paxos_lemmas import LEMMAS
from agree.protocols.registry import build
from agree.symbolic.paxos.driver import encoding_for
from agree.symbolic.paxos.invariant import PaxosZ3
from agree.symbolic.prove import CTI, prove

TWINS = {p.name: p for p in (*INDUCTIVE, *LEMMAS, *SAFETY)}


def check_cti_independently(cti: CTI, conjunct: str, assumed: tuple[str, ...]) -> None:
    """What the prover claims about a CTI, re-derived here."""
    spec = cti.spec
    assert cti.mismatches == []
    # The pre-state satisfies the whole invariant the encoding assumed...
    assert [n for n in assumed if not TWINS[n].holds(spec, cti.pre)] == []
    # ...the step is one of the explicit successors, and breaks the conjunct.
    assert cti.post in [t.state for t in spec.successors(cti.pre)]
    assert not TWINS[conjunct].holds(spec, cti.post)
    # The classification agrees with a full search of the same configuration.
    expected = "reachable" if cti.pre in set(reachable(spec)) else "unreachable"
    assert cti.reachable == expected


@pytest.mark.reference
def test_zoo_cti_decoded_rechecked_and_classified() -> None:
    """Slow when run after other Z3 tests: which CTI Z3 returns depends on the names
    earlier tests created in the process's Z3 context, and some CTIs take a minute to
    re-check by full search. The CLI test below runs the same path in a fresh process."""
    name = "paxos-2b-keeps-promise"
    enc, twins = encoding_for(name, acceptors=3, values=None, max_ballot=None)
    res = prove(enc, timeout=60, spec_factory=lambda p: build(name, p)[0], twins=twins,
                only_actions=["Phase2b"], stop_at_first=True, reach_budget=30)
    assert res.verdict == "counterexample" and res.exit_code == 1
    failed = [o for o in res.obligations if o.verdict != "proved"]
    assert len(failed) == 1 and failed[0].cti is not None and failed[0].action == "Phase2b"
    cti = failed[0].cti
    assert cti.label is not None and cti.label.startswith("Phase2b(")
    check_cti_independently(cti, failed[0].conjunct, PaxosZ3.INVARIANTS)


def test_zoo_cti_through_the_cli_is_printed_rechecked_and_classified(
        agree_process: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """`agree prove` on a zoo variant: pre-state, step, re-check and classification
    printed. In a fresh process, so the CTI Z3 returns does not depend on other tests."""
    name = "paxos-2b-keeps-promise"
    run = agree_process(["prove", name, "--action", "Phase2b", "--first", "--timeout", "60"])
    out = run.stdout
    assert run.returncode == 1, run.stderr
    assert "FAILED" in out and "pre-state:" in out and "step: Phase2b(" in out
    assert "re-checked: the Python predicates and the explicit successor function" in out
    assert ("REACHABLE" in out) or ("itself FAILS on a reachable state" in out)


class WeakPaxosZ3(PaxosZ3):
    """Paxos's invariant without max_bal >= max_vbal: not inductive (Phase1b)."""

    INVARIANTS = tuple(n for n in PaxosZ3.INVARIANTS if n != "max_bal_ge_max_vbal")


def test_weakened_invariant_gives_an_unreachable_cti() -> None:
    in_fresh_process("test_z3_paxos_cti", "weakened_gives_an_unreachable_cti")


def weakened_gives_an_unreachable_cti() -> None:
    """The body, run in a fresh process (tests/_fresh.py)."""
    enc = WeakPaxosZ3(acceptors=3, values=None, max_ballot=None)
    # {} (the default configuration, searched for a reachable CTI): a small one here
    res = prove(enc, timeout=60, twins=TWINS, only_actions=["Phase1b"], reach_budget=30,
                spec_factory=lambda p: build("paxos", p or {"max_ballot": 1})[0])
    failed = [o for o in res.obligations if o.verdict != "proved"]
    assert res.exit_code == 1 and failed
    for ob in failed:
        assert ob.verdict == "counterexample" and ob.cti is not None
        check_cti_independently(ob.cti, ob.conjunct, WeakPaxosZ3.INVARIANTS)
        # correct Paxos: the pre-state cannot be reachable; the invariant is too weak
        assert ob.cti.reachable == "unreachable"
        assert ob.cti.label is not None and ob.cti.label.startswith("Phase1b(")


def test_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "paxos", "--action", "Phase1a"]) == 0
    assert "PROVED" in capsys.readouterr().out
    assert main(["prove", "paxos", "--acceptors", "lots"]) == 2
    assert "--acceptors" in capsys.readouterr().err
    assert main(["prove", "paxos", "--action", "Phase9"]) == 2
    assert main(["prove", "paxos", "--timeout", "0"]) == 2
    assert main(["bmc", "paxos", "--depth", "-1"]) == 2
    capsys.readouterr()


def test_a_tiny_timeout_is_unknown_not_proved(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "paxos", "--acceptors", "5", "--action", "Phase2a",
                 "--timeout", "0.001"])
    out = capsys.readouterr().out
    assert code == 4
    assert "UNKNOWN" in out and "(timeout)" in out and "\nPROVED" not in out
    code = main(["bmc", "paxos", "--depth", "4", "--timeout", "0.001", "--quiet"])
    out = capsys.readouterr().out
    assert code == 4 and "UNKNOWN" in out and "timeout" in out


@pytest.mark.parametrize("acceptors", [5, None])
def test_paxos_proved_for_five_and_any_number_of_acceptors(acceptors: int | None) -> None:
    enc, _ = encoding_for("paxos", acceptors=acceptors, values=None, max_ballot=None)
    res = prove(enc, timeout=120)
    assert [o.title for o in res.obligations if o.verdict != "proved"] == []
    assert res.exit_code == 0 and len(res.obligations) == 10 * 5 + 2
    # Phase2a => inv_2a_safe' went through its witness cases (one per quorum when
    # the quorums are the 10 majorities of 5, one quorum constant otherwise).
    ob = next(o for o in res.obligations
              if o.action == "Phase2a" and o.conjunct == "inv_2a_safe")
    assert len(ob.cases) == (11 if acceptors == 5 else 2)
