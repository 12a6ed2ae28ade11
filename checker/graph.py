"""The explicit state graph of a small model, as a networkx graph.

The BFS checker keeps only fingerprints and parent links; liveness checking and
``agree check --graph`` need every edge. This module builds the whole reachable
graph through ``spec.successors`` (no symmetry reduction, no fingerprints:
states are the keys), refuses past a size limit, and writes GraphML or DOT
with action labels and a violating path marked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from agree.checker.core import initial_states
from agree.spec import Spec, SpecError, Transition

__all__ = ["DEFAULT_LIMIT", "GraphTooLarge", "StateGraph", "build_graph", "path_nodes",
           "write_graph"]

#: Default bound on the states of an explicit graph (``--graph`` and liveness).
DEFAULT_LIMIT = 50_000


class GraphTooLarge(SpecError):
    """The reachable graph has more states than the limit allows."""


@dataclass
class StateGraph:
    """Every reachable state (node ``i`` is ``states[i]``) and every step between them.

    ``graph`` is a ``networkx.MultiDiGraph`` whose edges carry ``label`` (the step as a
    trace shows it, ``Phase1b(a=a1, m=<1a bal=0>)``) and ``action`` (the action's label);
    the edge key is the label, so parallel steps with different arguments stay apart;
    ``args`` is the step's argument tuple (fairness grouped by some parameters reads it).
    """

    spec: Spec[Any]
    states: list[Any] = field(default_factory=list)
    index: dict[Any, int] = field(default_factory=dict)
    init: list[int] = field(default_factory=list)
    graph: Any = field(default_factory=nx.MultiDiGraph)

    def __len__(self) -> int:
        return len(self.states)

    def node(self, state: Any) -> int:
        """The node id of ``state`` (which must be reachable)."""
        return self.index[state]

    def transition(self, u: int, v: int, label: str) -> Transition[Any]:
        """Re-run the spec to recover the transition ``u -> v`` called ``label``."""
        target = self.states[v]
        for tr in self.spec.successors(self.states[u]):
            if tr.label == label and tr.state == target:
                return tr
        raise SpecError(f"the spec is not deterministic: step {label} no longer leads to the "
                        "same state")  # pragma: no cover - impure spec only


def build_graph(spec: Spec[Any], limit: int = DEFAULT_LIMIT, *, what: str = "--graph",
                ) -> StateGraph:
    """Explore every reachable state breadth-first, keeping every edge.

    The state constraint is applied as in the BFS checker (states outside it are
    not expanded nor kept). Raises :class:`GraphTooLarge` past ``limit`` states.
    """
    sg = StateGraph(spec)
    g = sg.graph
    constrained = type(spec).constraint is not Spec.constraint

    def add(state: Any) -> tuple[int, bool]:
        n = sg.index.get(state)
        if n is not None:
            return n, False
        if len(sg.states) >= limit:
            raise GraphTooLarge(
                f"{what}: {spec.name} has more than {limit:,} reachable states; the explicit "
                "graph is for small models: lower the spec's parameters (see `agree check "
                f"{spec.name} --help`) or raise the limit with --graph-limit")
        n = len(sg.states)
        sg.states.append(state)
        sg.index[state] = n
        g.add_node(n)
        return n, True

    queue: deque[int] = deque()
    for s in initial_states(spec):
        if constrained and not spec.constraint(s):
            continue
        n, new = add(s)
        if new:
            sg.init.append(n)
            queue.append(n)
    while queue:
        u = queue.popleft()
        for tr in spec.successors(sg.states[u]):
            if constrained and not spec.constraint(tr.state):
                continue
            v, new = add(tr.state)
            if new:
                queue.append(v)
            label = tr.label
            if not g.has_edge(u, v, key=label):
                g.add_edge(u, v, key=label, label=label, action=tr.action.label, args=tr.args)
    return sg


def path_nodes(sg: StateGraph, states: Sequence[Any]) -> list[int]:
    """Node ids of a trace's states (all must be in the graph)."""
    return [sg.index[s] for s in states]


def _state_text(spec: Spec[Any], state: Any) -> str:
    parts = []
    for key, value in spec.view(state).items():
        if isinstance(value, frozenset | set):
            shown = "{" + ", ".join(sorted(value)) + "}"
        elif isinstance(value, dict):
            shown = "{" + ", ".join(f"{m} x{c}" if c != 1 else m
                                    for m, c in sorted(value.items())) + "}"
        else:
            shown = str(value)
        parts.append(f"{key} = {shown}")
    return "\n".join(parts)


def _marked(sg: StateGraph, path: Sequence[int], labels: Sequence[str],
            ) -> tuple[set[int], set[tuple[int, int, str]]]:
    nodes = set(path)
    edges = {(path[i], path[i + 1], labels[i]) for i in range(len(path) - 1)}
    return nodes, edges


def write_graph(sg: StateGraph, out: str | Path, path: Sequence[int] = (),
                labels: Sequence[str] = ()) -> None:
    """Write the graph as GraphML (``.graphml``) or DOT (``.dot``/``.gv``).

    ``path``/``labels``: a violating trace's nodes and step labels, marked
    ``violating`` (GraphML attribute; red in DOT).
    """
    out = Path(out)
    nodes, edges = _marked(sg, path, labels)
    suffix = out.suffix.lower()
    if suffix == ".graphml":
        g = nx.MultiDiGraph()
        for n, state in enumerate(sg.states):
            g.add_node(n, state=_state_text(sg.spec, state), initial=n in sg.init,
                       violating=n in nodes)
        for u, v, key, data in sorted(sg.graph.edges(keys=True, data=True)):
            g.add_edge(u, v, key=key, action=data["action"], label=data["label"],
                       violating=(u, v, key) in edges)
        try:
            nx.write_graphml(g, out)
        except OSError as exc:
            raise SpecError(f"cannot write {out}: {exc.strerror or exc}") from None
    elif suffix in (".dot", ".gv"):
        _write_dot(sg, out, nodes, edges)
    else:
        raise SpecError(f"--graph {out}: unknown format {suffix or '(none)'!r}; "
                        "use a .graphml or .dot file name")


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l") + '"'


def _write_dot(sg: StateGraph, out: Path, nodes: set[int],
               edges: set[tuple[int, int, str]]) -> None:
    lines = [f"digraph {_q(sg.spec.name)} {{", "  node [shape=box, fontname=monospace];"]
    for n, state in enumerate(sg.states):
        attrs = [f"label={_q(_state_text(sg.spec, state) + chr(10))}"]
        if n in sg.init:
            attrs.append("peripheries=2")
        if n in nodes:
            attrs.append("color=red")
        lines.append(f"  s{n} [{', '.join(attrs)}];")
    for u, v, key, data in sorted(sg.graph.edges(keys=True, data=True)):
        attrs = [f"label={_q(data['label'])}"]
        if (u, v, key) in edges:
            attrs += ["color=red", "penwidth=2"]
        lines.append(f"  s{u} -> s{v} [{', '.join(attrs)}];")
    lines.append("}")
    try:
        out.write_text("\n".join(lines) + "\n")
    except OSError as exc:
        raise SpecError(f"cannot write {out}: {exc.strerror or exc}") from None
