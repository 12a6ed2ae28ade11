"""Liveness on the explicit state graph: ``eventually``, ``leads_to`` and
``eventually_always`` under weak and strong fairness.

A behaviour violates ``P ~> Q`` when it reaches a state where P holds and Q does
not, and from there stays forever in states where Q does not hold, fairly.
``<>Q`` is the same from an initial state. ``<>[]P`` (``eventually_always``) fails
when some fair cycle passes infinitely often through a state where P fails: a
reachable strongly connected component of the whole graph that admits a fair cycle
and holds such a state (or such a state where nothing fair is enabled, to stutter in).
Fairness is declared per action, each binding of its parameters separately (or
grouped by some of them: ``"Timeout(i)"``): weak (``Spec.weak_fairness``), a fair
behaviour cannot keep such an action instance enabled forever without taking it;
strong (``Spec.strong_fairness``), it cannot have it enabled infinitely often
(however often disabled in between) without taking it infinitely often.
Stuttering is allowed (TLA+), so a state where no fair instance is enabled is a
fair place to stop.

The check: restrict the graph to the states where Q fails, compute its strongly
connected components (networkx), and keep those that admit a fair cycle. Weak
fairness: every weakly fair instance enabled in *all* their states is taken on one
of their edges (a sub-cycle takes fewer steps and leaves the instance enabled in all
its states, so a component failing this has no fair cycle). Strong fairness, the
standard refinement for Streett conditions: a component in which a strongly fair
instance is enabled somewhere but taken on none of its edges has no fair cycle
through the states where it is enabled, so those states are deleted and the
components of the rest are checked again, until a component is fair or nothing is
left. A violation is a lasso: a prefix to the component and a cycle in it that
takes or disables every weakly fair instance and takes every strongly fair instance
enabled on it.

Refused: symmetry reduction and state constraints. Fairness is per binding of
action arguments, which a symmetry quotient merges, so a fair cycle in the
quotient need not be one in the spec; a state constraint cuts behaviours, so a
cycle or a dead end in the cut graph need not exist in the spec.
"""

from __future__ import annotations

import re
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
    strong_fairness: list[str] = field(default_factory=list)

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
    weak = _fairness_decl(spec, "weak_fairness", spec.weak_fairness)
    strong = _fairness_decl(spec, "strong_fairness", spec.strong_fairness)
    both = set(weak) & set(strong)
    if both:
        raise SpecError(f"spec {spec.name}: {', '.join(sorted(both))} is declared both weakly "
                        "and strongly fair; strong fairness implies weak, declare it once")
    start = time.perf_counter()
    sg = graph if graph is not None else build_graph(spec, limit, what="liveness")
    result = LivenessResult(spec.name, spec.param_values(), [p.name for p in props],
                            list(spec.weak_fairness), len(sg), sg.graph.number_of_edges(),
                            strong_fairness=list(spec.strong_fairness))
    fair = _Fairness.of(sg, weak, strong)
    for prop in props:
        trace = _find_lasso(sg, prop, fair)
        if trace is not None:
            what = {"eventually": "never holds",
                    "eventually_always": "fails again and again, forever"}.get(
                prop.kind, "holds but is never followed by the goal")
            result.violations.append(LivenessViolation(
                prop.name, prop.kind, trace,
                f"{prop.name}: a fair behaviour along which the property {what}"))
    result.seconds = time.perf_counter() - start
    return result


_DECL = re.compile(r"^\s*(\w+)\s*(?:\(\s*(\w+(?:\s*,\s*\w+)*)?\s*\))?\s*$")


def _fairness_decl(spec: Spec[Any], attr: str, entries: Sequence[str],
                   ) -> dict[str, tuple[int, ...] | None]:
    """Action label -> the positions of the parameters its fairness is grouped by (None:
    each binding of all of them), from ``"A"`` or ``"A(p, q)"`` entries."""
    actions = {a.label: a for a in spec.actions()}
    out: dict[str, tuple[int, ...] | None] = {}
    for entry in entries:
        m = _DECL.match(entry)
        act = actions.get(m.group(1)) if m else None
        if m is None or act is None:
            raise SpecError(f"spec {spec.name}: {attr} names {entry!r}, which is not an action "
                            f"(actions: {', '.join(sorted(actions))}), nor one with some of "
                            "its parameters, A(p, q)")
        if m.group(2) is None and "(" not in entry:
            out[act.label] = None
            continue
        names = [p.strip() for p in (m.group(2) or "").split(",") if p.strip()]
        unknown = [p for p in names if p not in act.param_names]
        if unknown:
            raise SpecError(f"spec {spec.name}: {attr} entry {entry!r}: {act.label} has no "
                            f"parameter {', '.join(unknown)} (its parameters: "
                            f"{', '.join(act.param_names) or 'none'})")
        out[act.label] = tuple(act.param_names.index(p) for p in names)
    return out


@dataclass
class _Fairness:
    """The fair instances of the graph: per edge, the instance a step takes; per node, the
    instances enabled (as real, non-stutter steps); and which instances are strongly fair."""

    instance: dict[tuple[int, int, str], str]
    enabled: list[frozenset[str]]
    strong: frozenset[str]

    @classmethod
    def of(cls, sg: StateGraph, weak: dict[str, tuple[int, ...] | None],
           strong: dict[str, tuple[int, ...] | None]) -> _Fairness:
        groups = {**weak, **strong}
        instance: dict[tuple[int, int, str], str] = {}
        strong_keys: set[str] = set()
        enabled: list[set[str]] = [set() for _ in range(len(sg))]
        for u, v, k, data in sg.graph.edges(keys=True, data=True):
            act = data["action"]
            if u == v or act not in groups:
                continue
            pos = groups[act]
            key = k if pos is None else _group_key(sg.spec, act, pos, data["args"])
            instance[(u, v, k)] = key
            enabled[u].add(key)
            if act in strong:
                strong_keys.add(key)
        return cls(instance, [frozenset(e) for e in enabled], frozenset(strong_keys))

    def taken(self, g: Any) -> set[str]:
        """The fair instances taken on the (real) edges of ``g``."""
        return {key for e in g.edges(keys=True) if (key := self.instance.get(e)) is not None}


def _group_key(spec: Spec[Any], label: str, pos: tuple[int, ...], args: tuple[Any, ...]) -> str:
    """The fairness instance of a step grouped by some parameters: ``Timeout(i=s1)``."""
    act = spec.action(label)
    shown = []
    for i in pos:
        pname, dom = act.domains[i]
        shown.append(f"{pname}={spec.show(dom if isinstance(dom, str) else '', args[i])}")
    return f"{label}({', '.join(shown)})"


def _fair_components(g: Any, nodes: Sequence[int], fair: _Fairness) -> dict[int, set[int]]:
    """Node -> the fair place it can stay in: itself when nothing fair is enabled there
    (stutter), else a strongly connected set of ``g`` that admits a fair cycle (see the
    module docstring: weak fairness by whole components, strong by refinement)."""
    enabled = fair.enabled
    targets: dict[int, set[int]] = {}
    for n in nodes:
        if not enabled[n]:
            targets[n] = {n}
    pending = [c for c in nx.strongly_connected_components(g) if len(c) > 1]
    while pending:
        comp = pending.pop()
        inside = fair.taken(g.subgraph(comp))
        everywhere = frozenset.intersection(*(enabled[n] for n in comp))
        if not everywhere - fair.strong <= inside:
            continue  # weak fairness fails in every cycle of it
        unmet = frozenset().union(*(enabled[n] for n in comp)) & fair.strong - inside
        if not unmet:
            for n in comp:
                targets.setdefault(n, set(comp))
            continue
        rest = [n for n in comp if not enabled[n] & unmet]
        pending += [c for c in nx.strongly_connected_components(g.subgraph(rest)) if len(c) > 1]
    return targets


def _find_recurring(sg: StateGraph, prop: Property, fair: _Fairness) -> Trace | None:
    """``<>[]P``: a lasso whose cycle is fair and passes through a state where P fails."""
    spec = sg.spec
    reach = _reachable(sg)
    g = sg.graph.subgraph(reach)
    targets = _fair_components(g, reach, fair)
    bad = {n for n in targets if not prop.fn(spec, sg.states[n])}
    if not bad:
        return None
    prefix = _bfs(sg.graph, list(sg.init), lambda n: n in bad)
    assert prefix is not None, "a reachable state is reached"
    entry = prefix[-1]
    cycle, cycle_labels = _fair_cycle(g, targets[entry], entry, fair)
    labels = [_default_label(sg.graph, u, v) for u, v in pairwise(prefix)]
    return _lasso_trace(sg, prefix + cycle[1:], labels + cycle_labels, len(prefix) - 1, prop)


def _find_lasso(sg: StateGraph, prop: Property, fair: _Fairness) -> Trace | None:
    if prop.kind == "eventually_always":
        return _find_recurring(sg, prop, fair)
    spec = sg.spec
    goal = [bool(prop.fn(spec, s)) for s in sg.states]
    bad = [n for n in range(len(sg)) if not goal[n]]
    h = sg.graph.subgraph(bad)
    targets = _fair_components(h, bad, fair)  # entry node -> its fair component (or stutter)
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
    cycle, cycle_labels = _fair_cycle(h, targets[entry], entry, fair)
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


def _fair_cycle(h: Any, comp: set[int], entry: int, fair: _Fairness,
                ) -> tuple[list[int], list[str]]:
    """A cycle from ``entry`` back to it inside ``comp`` (nodes, and the step label of each
    edge) that, for every fair instance enabled somewhere in it, takes it, or (weakly fair
    instances) visits a state where it is disabled."""
    enabled = fair.enabled
    if comp == {entry} and not enabled[entry]:
        return [entry], []  # stutter forever: nothing fair is enabled here
    sub = h.subgraph(comp)
    nodes = [entry]
    labels: list[str] = []
    unmet = set(frozenset().union(*(enabled[n] for n in comp)))

    def visit(v: int) -> None:
        unmet.difference_update([k for k in list(unmet)
                                 if k not in enabled[v] and k not in fair.strong])

    def extend(more: Sequence[int], last_label: str | None = None) -> None:
        for i, v in enumerate(more):
            u = nodes[-1]
            lab = last_label if (last_label is not None and i == len(more) - 1) else \
                _default_label(sub, u, v)
            labels.append(lab)
            nodes.append(v)
            unmet.discard(fair.instance.get((u, v, lab), ""))
            visit(v)

    visit(entry)
    while unmet:
        k = min(unmet)
        paths = nx.single_source_shortest_path(sub, nodes[-1])
        options: list[tuple[int, list[int], str | None]] = []
        for n, p in paths.items():
            if k not in enabled[n] and k not in fair.strong:
                options.append((len(p), p, None))
            for _, v, lab in sub.out_edges(n, keys=True):
                if v != n and fair.instance.get((n, v, lab)) == k:
                    options.append((len(p) + 1, [*p, v], lab))
        _, best, last = min(options, key=lambda o: (o[0], o[1], o[2] or ""))
        extend(best[1:], last)
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
