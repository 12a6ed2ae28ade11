"""Seeded implementation bugs, of any protocol: what one is, and applying one by name.

A protocol's bugs live with its conformance side (raft_bugs.py, paxos_machine.py), each
named by its bundle (protocols/catalog.py): by the zoo variant making the same mistake
in the spec, or by the protocol if none does. Each is a patch of one attribute of
impl/, applied by monkeypatching for the duration of a ``with`` block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from agree.protocols import registry

__all__ = ["SeededBug", "seeded", "seeded_bugs"]


@dataclass(frozen=True)
class SeededBug:
    """A named implementation bug: which rule it breaks, and the patch (attr -> function)."""

    name: str
    breaks: str
    target: type
    attr: str
    replacement: Callable[..., Any]


def seeded_bugs() -> tuple[SeededBug, ...]:
    """Every protocol's seeded bugs, in listing order (Raft's first)."""
    return tuple(b for p in registry.listed(registry.protocols()) for b in p.seeded_bugs())


@contextmanager
def seeded(name: str) -> Iterator[SeededBug]:
    """Apply seeded bug ``name`` (of any protocol's bundle) within the block (and undo it
    after)."""
    known = seeded_bugs()
    bug = next((b for b in known if b.name == name), None)
    if bug is None:
        raise KeyError(f"no seeded bug {name!r}; known: " + ", ".join(b.name for b in known))
    original = bug.target.__dict__[bug.attr]
    setattr(bug.target, bug.attr, bug.replacement)
    try:
        yield bug
    finally:
        setattr(bug.target, bug.attr, original)
