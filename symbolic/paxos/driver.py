"""`agree prove` and `agree bmc` for Paxos.tla, its zoo and the article's Paxos.

Which encoding class an entry uses is the bundle's (protocols/catalog.py); this module
says how it is built: ``--acceptors N|any`` for prove (the unbounded array encoding),
the explicit spec's acceptors, values and ballots for bmc (the finite encoding by
default, the array one with ``--encoding arrays``). An encoding class that takes more
of the spec's parameters names them in ``extra_params`` (``PidTimestampZ3``'s
``proposers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agree.protocols.bundle import SpecEntry
from agree.protocols.registry import get, protocols
from agree.spec import Property, Spec, SpecError
from agree.symbolic.driver import BmcSetup, ProveSetup, SymbolicDriver, no_encoding
from agree.symbolic.finite_z3 import FiniteEncoding
from agree.symbolic.z3base import Encoding

__all__ = ["ARTICLE", "PAXOS", "ArticleDriver", "PaxosDriver", "encoding_for",
           "finite_encoding_for"]

_SIZES = ("acceptors", "values", "max_ballot")


def _extra(cls: type, params: Mapping[str, Any] | None) -> dict[str, int]:
    """The spec parameters beyond the sizes that the encoding class takes."""
    return {k: int(params[k]) for k in getattr(cls, "extra_params", ())
            if params is not None and k in params}


class PaxosDriver(SymbolicDriver):
    """Paxos.tla and its zoo: invariant-based proofs, finite or array BMC."""

    prove_flags = ("acceptors",)

    def prove_options(self, entry: SpecEntry, flags: Mapping[str, Any]) -> dict[str, Any]:
        text = flags.get("acceptors") or "3"
        if text == "any":
            return {"acceptors": None}
        try:
            acceptors = int(text)
        except ValueError:
            raise SpecError(f"--acceptors must be a number or 'any', not {text!r}") from None
        if acceptors < 1:
            raise SpecError("--acceptors must be at least 1")
        return {"acceptors": acceptors}

    def prove_setup(self, entry: SpecEntry, options: Mapping[str, Any]) -> ProveSetup:
        enc, twins = self.encoding(entry, acceptors=options["acceptors"], values=None,
                                   max_ballot=None)
        return ProveSetup(enc, twins)

    def twins(self, entry: SpecEntry) -> dict[str, Property]:
        """The Python predicates of the invariant's conjuncts, lemmas and safety."""
        from agree.properties.paxos import INDUCTIVE, SAFETY
        from agree.properties.paxos_lemmas import LEMMAS
        return {p.name: p for p in (*INDUCTIVE, *LEMMAS, *SAFETY)}

    def safety_twins(self, entry: SpecEntry) -> dict[str, Property]:
        """The Python predicates of the properties the finite encoding checks."""
        from agree.properties.paxos import SAFETY
        return {p.name: p for p in SAFETY}

    def encoding(self, entry: SpecEntry, *, acceptors: int | None, values: int | None,
                 max_ballot: int | None, params: Mapping[str, Any] | None = None,
                 ) -> tuple[Encoding[Any, Any], dict[str, Property]]:
        """The array encoding of ``entry`` (None sizes: unbounded), with its twins."""
        cls = entry.prove_encoding()
        if cls is None:
            raise no_encoding(entry.name)
        quorum_sort = False  # enumerated majorities (with Phase2a's witnesses: faster)
        return (cls(acceptors, values, max_ballot, quorum_sort, **_extra(cls, params)),
                self.twins(entry))

    def finite_encoding(self, entry: SpecEntry, params: Mapping[str, Any],
                        ) -> tuple[FiniteEncoding[Any], dict[str, Property]]:
        """The finite encoding of ``entry`` in the configuration ``params``."""
        cls = entry.bmc_encoding()
        if cls is None:
            known = [e.name for e in _family() if e.bmc_encoding() is not None]
            raise SpecError(f"no finite Z3 encoding of {entry.name!r} "
                            f"(encoded: {', '.join(known)})")
        sizes = (int(params[k]) for k in _SIZES)
        return cls(*sizes, **_extra(cls, params)), self.safety_twins(entry)

    def check_bmc_flags(self, *, encoding: str, from_trace: str | None) -> None:
        if from_trace is not None:
            raise SpecError("--from is for Raft specs (the Paxos BMC starts at Init; its "
                            "zoo bugs are at most 17 steps deep)")

    def bmc_setup(self, entry: SpecEntry, spec: Spec[Any], params: dict[str, Any], *,
                  encoding: str, from_trace: str | None) -> BmcSetup:
        if any(params.get(k) is None for k in _SIZES):
            raise no_encoding(entry.name)
        if encoding == "finite":
            from agree.symbolic.paxos.bmc import bmc_solver
            enc, twins = self.finite_encoding(entry, params)
            return BmcSetup(enc, twins, spec, int(params["max_ballot"]), bmc_solver)
        arrays, twins = self.encoding(entry, **{k: params[k] for k in _SIZES}, params=params)
        return BmcSetup(arrays, twins, spec, int(params["max_ballot"]))


class ArticleDriver(PaxosDriver):
    """The article's Paxos: unsafe, so no invariant to prove; bmc refutes it."""

    def prove_setup(self, entry: SpecEntry, options: Mapping[str, Any]) -> ProveSetup:
        raise self._unprovable(entry)

    def _unprovable(self, entry: SpecEntry) -> SpecError:
        return SpecError(f"{entry.name} is unsafe and has no inductive invariant to prove: "
                         f"refute it with `agree bmc {entry.name} --depth K`")

    def twins(self, entry: SpecEntry) -> dict[str, Property]:
        return {p.name: p for p in entry.property_list()}

    safety_twins = twins

    def encoding(self, entry: SpecEntry, *, acceptors: int | None, values: int | None,
                 max_ballot: int | None, params: Mapping[str, Any] | None = None,
                 ) -> tuple[Encoding[Any, Any], dict[str, Property]]:
        """A finite configuration only (for bmc --encoding arrays)."""
        if acceptors is None or values is None or max_ballot is None:
            raise self._unprovable(entry)
        return entry.prove_encoding()(acceptors, values, max_ballot), self.twins(entry)


PAXOS = PaxosDriver()
ARTICLE = ArticleDriver()


def _family() -> list[SpecEntry]:
    """The registered entries a Paxos-like driver serves (the article's included)."""
    return [e for p in protocols() for e in p.entries()
            if isinstance(e.driver(), PaxosDriver)]


def encoding_for(name: str, *, acceptors: int | None, values: int | None,
                 max_ballot: int | None, extra: Mapping[str, Any] | None = None,
                 ) -> tuple[Encoding[Any, Any], dict[str, Property]]:
    """The array encoding of a registered Paxos-like spec, with its Python twins."""
    entry = get(name)
    driver = entry.driver()
    if not isinstance(driver, PaxosDriver):
        raise no_encoding(name)
    return driver.encoding(entry, acceptors=acceptors, values=values, max_ballot=max_ballot,
                           params=extra)


def finite_encoding_for(name: str, params: Mapping[str, Any],
                        ) -> tuple[FiniteEncoding[Any], dict[str, Property]]:
    """The finite encoding of a registered Paxos-like spec in the configuration
    ``params`` (its explicit parameters), with the twins of its safety properties."""
    entry = get(name)
    driver = entry.driver()
    if not isinstance(driver, PaxosDriver):
        raise no_encoding(name)
    return driver.finite_encoding(entry, params)
