"""The Z3 encoding of the article's Paxos held to its explicit model, and refuted by BMC.

* agreement and validity evaluate in Z3 like their Python twins on every reachable
  state of a small configuration (where agreement does fail);
* for sampled reachable states, each action's relation admits exactly the
  explicit successors of that action.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import z3
from _search import reachable

from agree.cli.main import main
from agree.models.paxos_article import ArticlePaxos, ArticleState
from agree.properties.paxos_article import PROPERTIES
from agree.symbolic.bmc import bmc
from agree.symbolic.paxos.article import ArticleZ3

TWINS = {p.name: p for p in PROPERTIES}


@pytest.fixture(scope="module")
def states() -> list[ArticleState]:
    """Every reachable state of 2 acceptors, 2 values, ids 0..1 (19,300)."""
    return reachable(ArticlePaxos(acceptors=2, values=2, max_ballot=1))


def holds(enc: ArticleZ3, state: ArticleState, formula_of: Any) -> bool:
    s = enc.fresh_state("eval")
    sv = z3.Solver()
    sv.add(enc.equal(s, enc.concrete(state)), z3.Not(formula_of(s)))
    return bool(sv.check() == z3.unsat)


def test_safety_matches_python_on_reachable_states(states: list[ArticleState]) -> None:
    spec = ArticlePaxos(acceptors=2, values=2, max_ballot=1)
    enc = ArticleZ3(2, 2, 1)
    sample = random.Random(2).sample(sorted(states, key=repr), 60)
    bad = [st for st in states if not TWINS["agreement"].holds(spec, st)]
    assert bad  # the configuration does break agreement
    for st in [*sample, *bad[:5]]:
        for i, name in enumerate(("agreement", "validity")):
            z = holds(enc, st, lambda s, i=i: enc.safety(s)[i].formula)
            assert z == TWINS[name].holds(spec, st), (name, st)


def test_transition_relation_admits_exactly_the_explicit_successors(
        states: list[ArticleState]) -> None:
    spec = ArticlePaxos(acceptors=2, values=2, max_ballot=1)
    enc = ArticleZ3(2, 2, 1)
    t = enc.fresh_state("next")
    for st in random.Random(4).sample(sorted(states, key=repr), 6):
        s = enc.concrete(st)
        by_label: dict[str, list[ArticleState]] = {lb: [] for lb in enc.action_labels()}
        for tr in spec.successors(st):
            by_label[tr.action.label].append(tr.state)
        for label, succs in by_label.items():
            for nxt in succs:
                sv = z3.Solver()
                sv.add(enc.step(label, s, enc.concrete(nxt), "chk"))
                assert sv.check() == z3.sat, f"{label}: Z3 rejects {st} -> {nxt}"
            sv = z3.Solver()
            sv.add(enc.step(label, s, t, "chk"),
                   *(z3.Not(enc.equal(t, enc.concrete(n))) for n in succs))
            assert sv.check() == z3.unsat, f"{label}: Z3 admits a step the spec does not"


@pytest.mark.reference
def test_bmc_refutes_the_article_with_two_acceptors() -> None:
    spec = ArticlePaxos(acceptors=2, values=2, max_ballot=1)
    enc = ArticleZ3(2, 2, 1)
    res = bmc(enc, spec, 12, twins=TWINS, bound=1, timeout=120)
    assert res.verdict == "violated" and res.exit_code == 1 and res.trace is not None
    assert not TWINS["agreement"].holds(spec, res.trace.states[-1])


def test_prove_refuses_the_article(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "paxos-article"]) == 2
    assert "agree bmc paxos-article" in capsys.readouterr().err
