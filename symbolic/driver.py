"""What `agree prove` and `agree bmc` need of a protocol, behind its bundle.

A protocol's bundle (protocols/catalog.py) names its driver, a :class:`SymbolicDriver`
in ``symbolic/<protocol>/driver.py``: which prove flags apply to it, which bmc flags it
refuses, and how the encoding of one of its entries (the protocol or a zoo variant,
whose encoding class the bundle names) is built. The CLI parses, asks the driver, runs
:func:`~agree.symbolic.prove.prove` or :func:`~agree.symbolic.bmc.bmc` and prints; it
never branches on a protocol's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import z3  # type: ignore[import-untyped]

from agree.checker.start_from import StartPoint
from agree.protocols import registry
from agree.protocols.bundle import SpecEntry
from agree.spec import Property, Spec, SpecError
from agree.symbolic.z3base import Encoding

__all__ = ["BmcSetup", "ProveSetup", "SymbolicDriver", "encoded_names", "no_encoding"]


@dataclass
class ProveSetup:
    """The encoding `agree prove` checks, the Python twins of its conjuncts, and whether
    the checklist lists the invariant's conjuncts first."""

    enc: Encoding[Any, Any]
    twins: dict[str, Property]
    show_invariant: bool = False
    #: Spec parameters every explicit spec of the proof has (CTIs, the reachability
    #: search's default configuration), e.g. Raft's ``history`` for --part complete.
    spec_params: dict[str, Any] = field(default_factory=dict)
    #: Smaller configurations the search for a reachable CTI tries before the default
    #: one (each within the reach budget), where a bug shows at a depth BFS reaches.
    search_params: tuple[dict[str, Any], ...] = ()


@dataclass
class BmcSetup:
    """What `agree bmc` unrolls: the encoding, the twins of its properties, the explicit
    spec a violation is rebuilt on (``searched``: the start state's, with ``--from``),
    the bound of ``explicit_params``, the solver to ask, and the replayed prefix."""

    enc: Encoding[Any, Any]
    twins: dict[str, Property]
    searched: Spec[Any]
    bound: int = 0
    make_solver: Callable[[], z3.Solver] | None = None
    start: StartPoint | None = None


def encoded_names() -> list[str]:
    """Registered names with a Z3 encoding (what `agree prove` can take), in the order of
    the protocols' bundles."""
    return [e.name for p in registry.protocols() for e in p.entries()
            if e.prove_encoding() is not None]


def no_encoding(name: str) -> SpecError:
    """The error for a spec without a Z3 encoding, naming those that have one."""
    return SpecError(f"no Z3 encoding of {name!r} (encoded: {', '.join(encoded_names())})")


class SymbolicDriver:
    """One protocol's prove and bmc; subclasses fill in the hooks."""

    #: The `agree prove` options (argparse dests) that apply to this protocol.
    prove_flags: tuple[str, ...] = ()

    def prove_options(self, entry: SpecEntry, flags: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults and checks for the prove flags (``flags``: those of ``prove_flags``,
        None where not given); bad values are a :class:`SpecError`."""
        return dict(flags)

    def prove_setup(self, entry: SpecEntry, options: Mapping[str, Any]) -> ProveSetup:
        """The unbounded encoding of ``entry`` for `agree prove`."""
        raise no_encoding(entry.name)

    def check_bmc_flags(self, *, encoding: str, from_trace: str | None) -> None:
        """Refuse a bmc flag that does not apply to this protocol."""

    def bmc_setup(self, entry: SpecEntry, spec: Spec[Any], params: dict[str, Any], *,
                  encoding: str, from_trace: str | None) -> BmcSetup:
        """The encoding of ``entry`` in the configuration ``params`` (``spec``'s)."""
        raise no_encoding(entry.name)
