"""Symmetry reduction: one state per orbit under permutations of interchangeable ids.

A spec declares ``symmetry`` (the id domains whose elements are
interchangeable, e.g. ``("acceptors", "values")``) and implements
``permute(state, perms)``. The group is every combination of permutations of
those domains. Each state is fingerprinted through its orbit:

    fingerprint(s) = min over g in the group of hash(g . s)

which is the same for every member of an orbit, so the number of distinct
fingerprints is the number of orbits of the reachable set, as with TLC's
symmetry (TLC takes the least permuted state in its total order on values and
hashes it; we take the least hash, which needs no order on Python values and
no serialization, and is exact up to 64-bit collisions like any fingerprint).
The state kept and expanded is the first member of an orbit reached, as in
TLC, so "states generated" matches TLC's figure with symmetry too.

Soundness. Symmetry reduction is only sound when the spec and every checked
property are invariant under the group. Properties cannot be proved
symmetric, so we test it: on a sample of reachable states (a breadth-first
prefix plus states spread along seeded random walks), for every group element g, each property
must give the same answer on s and g.s (action properties on (s, t) and
(g.s, g.t)), the constraint must agree, and the successors of g.s must be the
images under g of the successors of s (which also catches a wrong
``permute``). A failure refuses the run with a message naming the property,
the permutation and the state. Passing the test is evidence, not proof; it
catches the usual mistakes (a property that names a server, a ``permute``
that forgets a field).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agree.checker.core import initial_states
from agree.checker.simulate import run_rng
from agree.spec import Property, Spec, SpecError

__all__ = [
    "SymmetryError",
    "check_symmetric",
    "group",
    "orbit_fingerprint",
    "sample_states",
]

Perm = Mapping[str, tuple[int, ...]]
_CACHE = 1 << 16


class SymmetryError(SpecError):
    """Symmetry reduction would be unsound (or the spec declares none)."""


def group(spec: Spec[Any]) -> list[Perm]:
    """Every element of the symmetry group, the identity first.

    One permutation per declared domain (``perms[domain][i]`` is the new id of
    element ``i``); domains of one element are left out.
    """
    if not spec.symmetry:
        raise SymmetryError(f"spec {spec.name} declares no symmetry (set `symmetry` and "
                            "implement `permute` to use --symmetry)")
    sizes = []
    for dom in spec.symmetry:
        try:
            n = len(getattr(spec, dom))
        except (AttributeError, TypeError):
            raise SymmetryError(f"spec {spec.name}: symmetric domain {dom!r} is not a "
                                "sequence attribute of the spec") from None
        if n > 1:
            sizes.append((dom, n))
    per_domain = [list(itertools.permutations(range(n))) for _, n in sizes]
    return [dict(zip([d for d, _ in sizes], combo, strict=True))
            for combo in itertools.product(*per_domain)]


def orbit_fingerprint(spec: Spec[Any], base: Callable[[Any], int] = hash,
                      ) -> Callable[[Any], int]:
    """The fingerprint function of the orbits: the least ``base`` fingerprint over the
    group (``base`` is ``hash``, or a stable fingerprint for checkpoints)."""
    others = group(spec)[1:]
    permute = spec.permute
    if not others:
        return base

    # The same state is generated many times over (Raft: about 12 successors per
    # distinct state): remember recent answers (bounded) so the group is walked once
    # per state rather than once per generation.
    cache: dict[Any, int] = {}

    def fingerprint(state: Any) -> int:
        best = cache.get(state)
        if best is not None:
            return best
        best = base(state)
        for g in others:
            h = base(permute(state, g))
            if h < best:
                best = h
        if len(cache) >= _CACHE:
            cache.clear()
        cache[state] = best
        return best

    return fingerprint


def sample_states(spec: Spec[Any], prefix: int = 100, walks: int = 25, depth: int = 100,
                  every: int = 25, seed: int = 0) -> list[Any]:
    """Reachable states to test symmetry on: the first ``prefix`` in breadth-first
    order, then every ``every``-th state of ``walks`` seeded random walks of up to
    ``depth`` steps (deep ones: in Raft, leaders, entries and commits seldom show
    within 40 random steps of the start)."""
    out: list[Any] = []
    seen: set[Any] = set()
    frontier = [s for s in initial_states(spec) if spec.constraint(s)]
    while frontier and len(out) < prefix:
        nxt: list[Any] = []
        for s in frontier:
            if s in seen:
                continue
            seen.add(s)
            out.append(s)
            if len(out) >= prefix:
                break
            nxt.extend(t.state for t in spec.successors(s) if spec.constraint(t.state))
        frontier = nxt
    inits = [s for s in initial_states(spec) if spec.constraint(s)]
    for run in range(walks if inits else 0):
        rng = run_rng(seed, run)
        state = inits[rng.randrange(len(inits))]
        for step in range(1, depth + 1):
            nxt = [t.state for t in spec.successors(state) if spec.constraint(t.state)]
            if not nxt:
                break
            state = nxt[rng.randrange(len(nxt))]
            if step % every == 0 and state not in seen:
                seen.add(state)
                out.append(state)
    return out


def _perm_text(spec: Spec[Any], g: Perm) -> str:
    parts = []
    for dom, p in g.items():
        moved = [f"{spec.show(dom, i)}->{spec.show(dom, j)}" for i, j in enumerate(p) if i != j]
        parts.append(", ".join(moved))
    return "; ".join(x for x in parts if x) or "identity"


def _state_text(spec: Spec[Any], state: Any) -> str:
    view = spec.view(state)
    items = []
    for k, v in view.items():
        shown = "{" + ", ".join(sorted(v)) + "}" if isinstance(v, frozenset | set) else v
        items.append(f"{k}={shown}")
    return " ".join(items)


def check_symmetric(spec: Spec[Any], properties: Sequence[Property],
                    states: Sequence[Any] | None = None) -> int:
    """Test that the spec and ``properties`` are invariant under the symmetry group on
    sampled reachable states; raise :class:`SymmetryError` saying what is not.
    Returns the number of states tested."""
    elements = group(spec)[1:]
    sample = list(states) if states is not None else sample_states(spec)
    permute = spec.permute
    init_keys = {hash(s) for s in initial_states(spec)}
    for g in elements:
        if any(hash(permute(s, g)) not in init_keys for s in initial_states(spec)):
            raise SymmetryError(f"spec {spec.name}: the initial states are not symmetric "
                                f"under {_perm_text(spec, g)}; check its permute()")
    for s in sample:
        succ = list(spec.successors(s))
        for g in elements:
            gs = permute(s, g)
            if spec.constraint(gs) != spec.constraint(s):
                raise SymmetryError(f"spec {spec.name}: the state constraint is not symmetric "
                                    f"under {_perm_text(spec, g)}")
            for p in properties:
                if p.kind == "action":
                    for t in succ[:8]:
                        if p.holds(spec, s, t.state) != p.holds(spec, gs, permute(t.state, g)):
                            raise _refuse(spec, p, g, s)
                elif p.holds(spec, s) != p.holds(spec, gs) or (
                        p.premise is not None and p.premise(spec, s) != p.premise(spec, gs)):
                    raise _refuse(spec, p, g, s)
            images = Counter(hash(permute(t.state, g)) for t in succ)
            actual = Counter(hash(t.state) for t in spec.successors(gs))
            if images != actual:
                raise SymmetryError(
                    f"spec {spec.name}: its actions are not symmetric under "
                    f"{_perm_text(spec, g)} (the successors of a permuted state are not the "
                    f"permuted successors) in state {_state_text(spec, s)}; check permute() "
                    "and the actions' guards")
    return len(sample)


def _refuse(spec: Spec[Any], p: Property, g: Perm, s: Any) -> SymmetryError:
    return SymmetryError(
        f"property {p.name} is not symmetric under {_perm_text(spec, g)}, so --symmetry "
        f"would be unsound: it differs between state {_state_text(spec, s)} and its "
        "permutation; check it without --symmetry, or restate it over all ids")
