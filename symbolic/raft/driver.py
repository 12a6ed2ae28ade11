"""`agree prove` and `agree bmc` for raft.tla and its zoo.

prove uses the unbounded encoding (symbolic/raft/encoding.py) with ``--servers`` and
``--part``; bmc the finite scalar encoding (symbolic/raft/bmc.py), which can start
from the state a replayed trace prefix reaches (``--from``). Which encoding class an
entry uses is the bundle's (protocols/catalog.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agree.protocols.bundle import SpecEntry
from agree.protocols.registry import get
from agree.spec import Property, Spec, SpecError
from agree.symbolic.driver import BmcSetup, ProveSetup, SymbolicDriver, no_encoding
from agree.symbolic.raft.encoding import RaftZ3
from agree.symbolic.z3base import solver_for

__all__ = ["RAFT", "RaftDriver", "raft_encoding_for", "raft_twins"]


def raft_twins() -> dict[str, Property]:
    """The Python predicates of every Z3 conjunct (safety and lemmas)."""
    from agree.properties.raft import SAFETY
    from agree.properties.raft_history_lemmas import HISTORY_LEMMAS
    from agree.properties.raft_lemmas import ELECTION_LEMMAS, LOG_LEMMAS
    from agree.properties.raft_vote_lemmas import VOTE_LEMMAS
    return {p.name: p for p in (*SAFETY, *ELECTION_LEMMAS, *LOG_LEMMAS, *HISTORY_LEMMAS,
                                *VOTE_LEMMAS)}


def _refuse_unencoded(params: Mapping[str, Any], which: str) -> None:
    """Both Raft encodings send one entry per AppendEntries and leave out the
    committed history: other parameter values are refused, not approximated."""
    if int(params.get("entries_per_append", 1)) != 1:
        raise SpecError(f"the Raft {which} encoding sends one entry per AppendEntries "
                        "(--entries-per-append 1)")
    if params.get("history"):
        raise SpecError(f"the Raft {which} encoding does not encode the committed history "
                        "(--history false)")


class RaftDriver(SymbolicDriver):
    """Raft and its zoo."""

    prove_flags = ("servers", "part")

    def prove_options(self, entry: SpecEntry, flags: Mapping[str, Any]) -> dict[str, Any]:
        servers = 3 if flags.get("servers") is None else int(flags["servers"])
        if servers < 1:
            raise SpecError("--servers must be at least 1")
        return {"servers": servers, "part": flags.get("part") or "all"}

    def prove_setup(self, entry: SpecEntry, options: Mapping[str, Any]) -> ProveSetup:
        # Restart unbounded (raft.tla); the zoo's restart bugs need it.
        part = options["part"]
        enc = self.encoding(entry, servers=options["servers"], values=None, proof=True,
                            params={"max_restarts": -1}, part=part)
        # --part complete reasons about the histories: CTIs live in history=True specs.
        fixed = {"history": True} if part == "complete" else {}
        # The history lemmas break at depths BFS reaches with 2 servers, not with the
        # default 3 (raft-commit-old-term: commit_in_grown after 26 steps).
        small = ({"servers": 2, "max_term": 3, "max_log": 1, "max_messages": 1,
                  "max_restarts": 0},) if part == "complete" else ()
        return ProveSetup(enc, raft_twins(), show_invariant=True, spec_params=fixed,
                          search_params=small)

    def encoding(self, entry: SpecEntry, *, servers: int, values: int | None, proof: bool,
                 params: Mapping[str, Any] | None = None, part: str = "all") -> RaftZ3:
        """The Z3 encoding of ``entry``; ``params`` (bounded mode) the explicit spec's
        parameters."""
        cls = entry.prove_encoding()
        if cls is None:
            raise no_encoding(entry.name)
        p = params or {}
        if part == "complete":
            from agree.symbolic.raft.history import with_history
            cls = with_history(cls)
            p = {k: v for k, v in p.items() if k != "history"}
        _refuse_unencoded(p, "Z3")
        return cls(servers, values, proof=proof, max_term=int(p.get("max_term", 3)),  # type: ignore[no-any-return]
                   max_log=int(p.get("max_log", 2)),
                   max_messages=int(p.get("max_messages", 2)),
                   max_restarts=int(p.get("max_restarts", -1)), part=part)

    def check_bmc_flags(self, *, encoding: str, from_trace: str | None) -> None:
        if encoding != "finite":
            raise SpecError("--encoding arrays is for Paxos: Raft BMC has one encoding "
                            "(symbolic/raft/bmc.py)")

    def bmc_setup(self, entry: SpecEntry, spec: Spec[Any], params: dict[str, Any], *,
                  encoding: str, from_trace: str | None) -> BmcSetup:
        """The finite scalar encoding; ``from_trace`` (TRACE.json[:K]) starts the search
        at the state a replayed prefix reaches."""
        from agree.checker.start_from import search_from
        full = spec.param_values()
        _refuse_unencoded(full, "BMC")
        start, searched = search_from(spec, from_trace) if from_trace is not None \
            else (None, spec)
        cls = entry.bmc_encoding()
        if cls is None:
            raise no_encoding(entry.name)
        enc = cls(int(full["servers"]), int(full["values"]), int(full["max_term"]),
                  int(full["max_log"]), int(full["max_messages"]), int(full["max_restarts"]),
                  start=None if start is None else start.state)
        logic = enc.logic  # QF_BV for the bit-vector encoding
        return BmcSetup(enc, raft_twins(), searched, 0,
                        None if logic is None else lambda: solver_for(logic), start)


RAFT = RaftDriver()


def raft_encoding_for(name: str, *, servers: int, values: int | None, proof: bool,
                      params: dict[str, Any] | None = None, part: str = "all") -> RaftZ3:
    """The Z3 encoding of a registered Raft spec; ``params`` (bounded mode) the explicit
    spec's parameters."""
    return RAFT.encoding(get(name), servers=servers, values=values, proof=proof,
                         params=params, part=part)
