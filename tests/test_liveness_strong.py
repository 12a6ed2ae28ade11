"""Strong fairness in the liveness engine: a cycle that disables a strongly fair action
between its chances is unfair (weak fairness admits it); the refinement still finds a
fair cycle through the states where the action is never enabled; declarations grouped by
some parameters; Raft's elections hold from four servers on once Timeout is strong."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import pytest

from agree.checker.liveness import check_liveness
from agree.models.raft_liveness import PROPERTIES, RaftLiveness
from agree.spec import Spec, SpecError, action, eventually, property_of
from agree.traces.trace import Trace


class Detour(Spec[int]):
    """0 -Wait-> 1 -Back-> 0, 0 -Go(t)-> 2 (the goal, t in 0..1); with ``aside`` also
    1 -Aside-> 3 -Return-> 1: a cycle on which Go is never enabled."""

    name = "detour"
    weak_fairness: ClassVar[tuple[str, ...]] = ("Wait", "Back", "Go", "Aside", "Return")

    def __init__(self, aside: bool = False) -> None:
        self.aside = aside
        self.ts = (0, 1)

    def init(self) -> Iterable[int]:
        yield 0

    @action()
    def wait(self, s: int) -> int | None:
        return 1 if s == 0 else None

    @action()
    def back(self, s: int) -> int | None:
        return 0 if s == 1 else None

    @action(t="ts")
    def go(self, s: int, t: int) -> int | None:
        return 2 if s == 0 else None

    @action()
    def aside_(self, s: int) -> int | None:
        return 3 if s == 1 and self.aside else None

    @action()
    def return_(self, s: int) -> int | None:
        return 1 if s == 3 else None


@eventually
def at_goal(spec: Detour, s: int) -> bool:
    return s == 2


def _variant(weak: tuple[str, ...], strong: tuple[str, ...]) -> type[Detour]:
    return type("D", (Detour,), {"weak_fairness": weak, "strong_fairness": strong})


def _loop_fair(spec: Spec[Any], trace: Trace, strong: set[str]) -> bool:
    """Independently of the engine: on the loop, every strongly fair action enabled at one
    of its states is taken on it."""
    assert trace.loop is not None
    assert trace.states[-1] == trace.states[trace.loop]
    taken = {s.action for s in trace.steps[trace.loop:]}
    enabled = {t.action.label for st in trace.states[trace.loop:]
               for t in spec.successors(st) if t.state != st}
    return all(a in taken for a in enabled & strong)


def test_weak_fairness_admits_the_detour_strong_fairness_does_not() -> None:
    prop = property_of(at_goal)
    weak = check_liveness(Detour(), [prop])
    assert weak.verdict == "violated"
    trace = weak.violations[0].trace
    assert trace.loop is not None and set(trace.states[trace.loop:]) == {0, 1}
    assert not _loop_fair(Detour(), trace, {"Go"})  # the lasso is weakly fair only
    strong = _variant(("Wait", "Back", "Aside", "Return"), ("Go",))
    result = check_liveness(strong(), [prop])
    assert result.verdict == "holds" and result.strong_fairness == ["Go"]
    # grouped by no parameter: Go taken with any t counts
    grouped = _variant(("Wait", "Back", "Aside", "Return"), ("Go()",))
    assert check_liveness(grouped(), [prop]).verdict == "holds"


def test_strong_fairness_still_finds_a_cycle_where_go_is_never_enabled() -> None:
    prop = property_of(at_goal)
    spec = _variant(("Wait", "Back", "Aside", "Return"), ("Go(t)",))(aside=True)
    result = check_liveness(spec, [prop])
    assert result.verdict == "violated"
    trace = result.violations[0].trace
    assert trace.loop is not None and set(trace.states[trace.loop:]) == {1, 3}
    assert _loop_fair(spec, trace, {"Go"})
    # Back strongly fair too: leaving 1 for 0 again and again forces Go: holds
    both = _variant(("Wait", "Aside", "Return"), ("Go", "Back"))(aside=True)
    assert check_liveness(both, [prop]).verdict == "holds"


@pytest.mark.parametrize(("weak", "strong", "message"), [
    ((), ("Nope",), "strong_fairness names 'Nope', which is not an action"),
    ((), ("Go(x)",), "Go has no parameter x"),
    ((), ("Go(t",), "which is not an action"),
    (("Go",), ("Go(t)",), "both weakly and strongly fair"),
])
def test_bad_fairness_declarations_are_refused(weak: tuple[str, ...], strong: tuple[str, ...],
                                               message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(")):
        check_liveness(_variant(weak, strong)(), [property_of(at_goal)])


@pytest.mark.parametrize(("servers", "prevote", "check_quorum"),
                         [(4, False, False), (4, True, True), (5, True, True)])
def test_raft_leader_stays_from_four_servers_with_strong_timeouts(
        servers: int, prevote: bool, check_quorum: bool) -> None:
    spec = RaftLiveness(servers=servers, prevote=prevote, check_quorum=check_quorum)
    assert check_liveness(spec, PROPERTIES).verdict == "holds"
    # with Timeout only weakly fair, the cut-off server campaigns forever
    weak = type("WeakRaft", (RaftLiveness,), {
        "weak_fairness": (*RaftLiveness.weak_fairness, "Timeout"), "strong_fairness": ()})
    lasso = check_liveness(weak(servers=servers, prevote=prevote, check_quorum=check_quorum),
                           PROPERTIES)
    assert [v.property for v in lasso.violations] == ["leader_stays"]


class RandomGraph(Spec[int]):
    """Nodes 0..n-1 from 0, the goal n-1; edges of three actions, each with its target as parameter
    (so a fairness instance is an action and a target): W weakly fair, S strongly
    fair, U unfair."""

    name = "random-graph"
    weak_fairness: ClassVar[tuple[str, ...]] = ("W",)
    strong_fairness: ClassVar[tuple[str, ...]] = ("S",)

    def __init__(self, n: int = 2, edges: str = "") -> None:
        """``edges``: ``"W0-1 S1-0"``, an action and an edge each."""
        self.nodes = range(n)
        self.edges: dict[str, set[tuple[int, int]]] = {"W": set(), "S": set(), "U": set()}
        for e in edges.split():
            u, v = e[1:].split("-")
            self.edges[e[0]].add((int(u), int(v)))

    def init(self) -> Iterable[int]:
        yield 0

    @action("W", v="nodes")
    def w(self, s: int, v: int) -> int | None:
        return v if (s, v) in self.edges["W"] else None

    @action("S", v="nodes")
    def s(self, s: int, v: int) -> int | None:
        return v if (s, v) in self.edges["S"] else None

    @action("U", v="nodes")
    def u(self, s: int, v: int) -> int | None:
        return v if (s, v) in self.edges["U"] else None


@eventually
def at_last(spec: RandomGraph, s: int) -> bool:
    return s == spec.nodes[-1]


def _brute_force_fair_stay(spec: RandomGraph) -> bool:
    """Whether some behaviour from 0 stays fairly forever off the goal: by every set of
    non-goal nodes reachable from 0 off the goal, strongly connected through its own
    edges (or one node to stutter in), with every edge inside it taken."""
    import itertools

    import networkx as nx
    goal = spec.nodes[-1]
    off = [n for n in spec.nodes if n != goal]
    g = nx.DiGraph()
    g.add_nodes_from(off)
    inst: dict[tuple[int, int], set[tuple[str, int]]] = {}
    for a, es in spec.edges.items():
        for u, v in es:
            if u != goal and v != goal and u != v:
                g.add_edge(u, v)
                inst.setdefault((u, v), set()).add((a, v))
    reach = nx.descendants(g, 0) | {0}

    def enabled(n: int, kind: str) -> set[tuple[str, int]]:
        return {(kind, v) for u, v in spec.edges[kind] if u == n and v != n}

    for k in range(1, len(off) + 1):
        for cand in itertools.combinations(sorted(reach), k):
            sub = g.subgraph(cand)
            if not nx.is_strongly_connected(sub):
                continue
            if k == 1 and not sub.number_of_edges():
                if not enabled(cand[0], "W") | enabled(cand[0], "S"):
                    return True  # stutter
                continue
            taken = set().union(*(inst[e] for e in sub.edges()))
            always_w = set.intersection(*(enabled(n, "W") for n in cand))
            ever_s = set().union(*(enabled(n, "S") for n in cand))
            if always_w <= taken and ever_s <= taken:
                return True
    return False


def test_strong_fairness_agrees_with_brute_force_on_random_graphs() -> None:
    import random
    rng = random.Random(19)
    prop = property_of(at_last)
    seen = {"holds": 0, "violated": 0}
    for _ in range(150):
        n = rng.randint(2, 6)
        edges = " ".join(f"{rng.choice('WSU')}{u}-{v}" for u in range(n) for v in range(n)
                         if u != v and rng.random() < 0.3)
        spec = RandomGraph(n, edges)
        result = check_liveness(spec, [prop])
        assert (result.verdict == "violated") == _brute_force_fair_stay(spec), edges
        seen[result.verdict] += 1
        for v in result.violations:
            if v.trace.loop is not None and len(v.trace) > v.trace.loop:
                assert _loop_fair(spec, v.trace, {"S"}), edges
    assert min(seen.values()) > 20, seen  # both verdicts are exercised
