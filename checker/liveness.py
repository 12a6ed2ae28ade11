"""Liveness on the explicit state graph: ``eventually``, ``leads_to`` and
``eventually_always`` under weak fairness.

A behaviour violates ``P ~> Q`` when it reaches a state where P holds and Q does
not, and from there stays forever in states where Q does not hold, fairly.
``<>Q`` is the same from an initial state. ``<>[]P`` (``eventually_always``) fails
when some fair cycle passes infinitely often through a state where P fails: a
reachable strongly connected component of the whole graph that admits a fair cycle
and holds such a state (or such a state where nothing fair is enabled, to stutter in).
Fairness is weak fairness of each
declared action, per binding of its parameters (``Spec.weak_fairness``): a fair
behaviour cannot keep such an action instance enabled forever without taking
it. Stuttering is allowed (TLA+), so a state where no fair instance is enabled
is a fair place to stop.

The check: restrict the graph to the states where Q fails, compute its
strongly connected components (networkx), and keep those that admit a fair
cycle: every fair instance enabled in *all* their states is taken on one of
their edges (with weak fairness only, a whole component is the most permissive
cycle, so checking components is exact). A violation is a lasso: a prefix to
the component and a cycle in it that takes or disables every fair instance.

Refused: symmetry reduction and state constraints. Fairness is per binding of
action arguments, which a symmetry quotient merges, so a fair cycle in the
quotient need not be one in the spec; a state constraint cuts behaviours, so a
cycle or a dead end in the cut graph need not exist in the spec.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import networkx as nx

from agree.checker.graph import DEFAULT_LIMIT, StateGraph, build_graph
from agree.spec import Property, Spec, SpecError, Transition
from agree.traces.trace import Trace

__all__ = ["LIVENESS_KINDS", "LivenessResult", "LivenessViolation", "check_liveness",
           "refuse_unsound"]

LIVENESS_KINDS = ("eventually", "leads_to", "eventually_always")


@dataclass
class LivenessViolation:
    """A liveness property that fails, with a lasso (``trace.loop`` marks the cycle)."""

    property: str
    kind: str
    trace: Trace
    message: str = ""


@dataclass
class LivenessResult:
    """The outcome of checking liveness properties on the state graph."""

    spec: str
    params: dict[str, Any]
    properties: list[str]
    fairness: list[str]
    distinct: int = 0
    edges: int = 0
    seconds: float = 0.0
    violations: list[LivenessViolation] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "violated" if self.violations else "holds"

    @property
    def exit_code(self) -> int:
        return 1 if self.violations else 0


def refuse_unsound(spec: Spec[Any], symmetry: bool = False) -> None:
    """Raise :class:`SpecError` when liveness would be checked on a reduced graph."""
    if symmetry:
        raise SpecError(
            "liveness with symmetry reduction is refused: fairness is per binding of action "
            "arguments (per server, per message), which the symmetry quotient merges, so a "
            "fair cycle there need not be a fair behaviour of the spec; check without symmetry")
    if type(spec).constraint is not Spec.constraint:
        raise SpecError(
            f"liveness on {spec.name} is refused: it declares a state constraint, which cuts "
            "behaviours short, so a cycle (or a dead end) of the cut graph need not exist in "
            "the spec; bound the model with its parameters instead")


def check_liveness(spec: Spec[Any], properties: Sequence[Property], *,
                   limit: int = DEFAULT_LIMIT, symmetry: bool = False,
                   graph: StateGraph | None = None) -> LivenessResult:
    """Check every liveness property (``LIVENESS_KINDS``) of ``properties`` on the graph."""
    refuse_unsound(spec, symmetry)
    props = [p for p in properties if p.kind in LIVENESS_KINDS]
    fair = tuple(spec.weak_fairness)
    known = {a.label for a in spec.actions()}
    for label in fair:
        if label not in known:
            raise SpecError(f"spec {spec.name}: weak_fairness names {label!r}, which is not "
                            f"an action (actions: {', '.join(sorted(known))})")
    start = time.perf_counter()
    sg = graph if graph is not None else build_graph(spec, limit, what="liveness")
    result = LivenessResult(spec.name, spec.param_values(), [p.name for p in props],
                            list(fair), len(sg), sg.graph.number_of_edges())
    enabled = _fair_enabled(sg, set(fair))
    for prop in props:
        trace = _find_lasso(sg, prop, enabled)
        if trace is not None:
            what = {"eventually": "never holds",
                    "eventually_always": "fails again and again, forever"}.get(
                prop.kind, "holds but is never followed by the goal")
            result.violations.append(LivenessViolation(
                prop.name, prop.kind, trace,
                f"{prop.name}: a fair behaviour along which the property {what}"))
    result.seconds = time.perf_counter() - start
    return result


def _fair_enabled(sg: StateGraph, fair: set[str]) -> list[frozenset[str]]:
    """Per node, the fair action instances (step labels) enabled as real (non-stutter) steps."""
    out = []
    for u in range(len(sg)):
        out.append(frozenset(k for _, v, k, a in sg.graph.out_edges(u, keys=True, data="action")
                             if v != u and a in fair))
    return out


def _fair_components(g: Any, nodes: Sequence[int], enabled: list[frozenset[str]],
                     ) -> dict[int, set[int]]:
    """Node -> the fair place it can stay in: itself when nothing fair is enabled there
    (stutter), else its strongly connected component of ``g`` when that admits a fair
    cycle (every fair instance enabled in all its states is taken on one of its edges)."""
    targets: dict[int, set[int]] = {}
    for n in nodes:
        if not enabled[n]:
            targets[n] = {n}
    for comp in nx.strongly_connected_components(g):
        if len(comp) < 2:
            continue
        inside = {k for u, v, k in g.subgraph(comp).edges(keys=True) if u != v}
        everywhere = frozenset.intersection(*(enabled[n] for n in comp))
        if everywhere <= inside:
            for n in comp:
                targets.setdefault(n, set(comp))
    return targets


def _find_recurring(sg: StateGraph, prop: Property, enabled: list[frozenset[str]],
                    ) -> Trace | None:
    """``<>[]P``: a lasso whose cycle is fair and passes through a state where P fails."""
    spec = sg.spec
    reach = _reachable(sg)
    g = sg.graph.subgraph(reach)
    targets = _fair_components(g, reach, enabled)
    bad = {n for n in targets if not prop.fn(spec, sg.states[n])}
    if not bad:
        return None
    prefix = _bfs(sg.graph, list(sg.init), lambda n: n in bad)
    assert prefix is not None, "a reachable state is reached"
    entry = prefix[-1]
    cycle, cycle_labels = _fair_cycle(sg, g, targets[entry], entry, enabled)
    labels = [_default_label(sg.graph, u, v) for u, v in pairwise(prefix)]
    return _lasso_trace(sg, prefix + cycle[1:], labels + cycle_labels, len(prefix) - 1, prop)


def _find_lasso(sg: StateGraph, prop: Property, enabled: list[frozenset[str]]) -> Trace | None:
    if prop.kind == "eventually_always":
        return _find_recurring(sg, prop, enabled)
    spec = sg.spec
    goal = [bool(prop.fn(spec, s)) for s in sg.states]
    bad = [n for n in range(len(sg)) if not goal[n]]
    h = sg.graph.subgraph(bad)
    targets = _fair_components(h, bad, enabled)  # entry node -> its fair component (or stutter)
    if not targets:
        return None
    if prop.kind == "eventually":
        starts = [n for n in sg.init if not goal[n]]
    else:
        premise = prop.premise
        assert premise is not None, "a leads_to property carries its premise"
        starts = [n for n in _reachable(sg) if not goal[n] and premise(spec, sg.states[n])]
    hit = _bfs(h, sorted(starts), lambda n: n in targets)
    if hit is None:
        return None
    middle = hit  # from a start to an entry of a fair component, through bad states
    prefix = _bfs(sg.graph, list(sg.init), lambda n: n == middle[0]) or [middle[0]]
    entry = middle[-1]
    cycle, cycle_labels = _fair_cycle(sg, h, targets[entry], entry, enabled)
    nodes = prefix + middle[1:]
    labels = [_default_label(sg.graph, u, v) for u, v in pairwise(nodes)]
    loop = len(nodes) - 1
    nodes += cycle[1:]
    labels += cycle_labels
    return _lasso_trace(sg, nodes, labels, loop, prop)


def _reachable(sg: StateGraph) -> list[int]:
    seen: set[int] = set()
    for n in sg.init:
        seen |= nx.descendants(sg.graph, n) | {n}
    return sorted(seen)


def _bfs(g: Any, sources: list[int], is_goal: Callable[[int], bool]) -> list[int] | None:
    """Shortest path (node list) in ``g`` from any source to a goal node."""
    parent: dict[int, int | None] = {}
    queue: deque[int] = deque()
    for s in sources:
        if s not in parent:
            parent[s] = None
            queue.append(s)
    while queue:
        u = queue.popleft()
        if is_goal(u):
            path = [u]
            while (p := parent[path[-1]]) is not None:
                path.append(p)
            return path[::-1]
        for v in sorted(g.successors(u)):
            if v not in parent:
                parent[v] = u
                queue.append(v)
    return None


def _default_label(g: Any, u: int, v: int) -> str:
    return min(k for _, w, k in g.out_edges(u, keys=True) if w == v)  # type: ignore[no-any-return]


def _fair_cycle(sg: StateGraph, h: Any, comp: set[int], entry: int,
                enabled: list[frozenset[str]]) -> tuple[list[int], list[str]]:
    """A cycle from ``entry`` back to it inside ``comp`` (nodes, and the step label of each
    edge) that, for every fair instance enabled somewhere in it, visits a state where the
    instance is disabled or takes it."""
    if comp == {entry} and not enabled[entry]:
        return [entry], []  # stutter forever: nothing fair is enabled here
    sub = h.subgraph(comp)
    nodes = [entry]
    labels: list[str] = []
    unmet = set(frozenset().union(*(enabled[n] for n in comp)))

    def extend(more: Sequence[int], last_label: str | None = None) -> None:
        for i, v in enumerate(more):
            u = nodes[-1]
            lab = last_label if (last_label is not None and i == len(more) - 1) else \
                _default_label(sub, u, v)
            labels.append(lab)
            nodes.append(v)
            unmet.discard(lab)
            unmet.difference_update([k for k in list(unmet) if k not in enabled[v]])

    unmet.difference_update([k for k in list(unmet) if k not in enabled[entry]])
    while unmet:
        k = min(unmet)
        paths = nx.single_source_shortest_path(sub, nodes[-1])
        options: list[tuple[int, list[int], str | None]] = []
        for n, p in paths.items():
            if k not in enabled[n]:
                options.append((len(p), p, None))
            for _, v, key in sub.out_edges(n, keys=True):
                if key == k and v != n:
                    options.append((len(p) + 1, [*p, v], k))
        _, best, lab = min(options, key=lambda o: (o[0], o[1], o[2] or ""))
        extend(best[1:], lab)
        if k in unmet:  # pragma: no cover - the component was checked fair
            raise SpecError(f"internal error: cannot satisfy fairness of {k}")
    if len(nodes) == 1:  # entry has fair steps enabled, all taken below: go round once
        succ = min(v for v in sub.successors(entry) if v != entry)
        extend([succ])
    if nodes[-1] != entry:
        extend(nx.shortest_path(sub, nodes[-1], entry)[1:])
    return nodes, labels


def _lasso_trace(sg: StateGraph, nodes: list[int], labels: list[str], loop: int,
                 prop: Property) -> Trace:
    spec = sg.spec
    steps: list[Transition[Any]] = [sg.transition(u, v, lab) for u, v, lab
                                    in zip(nodes[:-1], nodes[1:], labels, strict=True)]
    trace = Trace.from_transitions(spec, sg.states[nodes[0]], steps, prop.name, prop.kind)
    trace.loop = loop
    return trace
