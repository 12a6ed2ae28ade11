"""What must hold of Raft with membership changes (models/raft_reconfig.py).

The figure-3 properties of properties/raft.py apply unchanged (they read the state's
logs, terms and histories, whatever the configurations): election safety, log matching,
leader completeness, state machine safety, leader append-only. One property is new, the
one single-server changes exist for (thesis §4.1): two configurations that do not
overlap in a majority are never in use in the same term. "In use in term t" means a
configuration a leader of term t was elected under (the latest configuration in its log
when it won, from the history ``elections``), or the configuration a current leader of
term t decides with; two such configurations of two different servers must share a
server in every pair of majorities, else two leaders can each win a term with voters the
other never asked.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agree.models.raft_reconfig import RaftReconfig, config_of, overlap_in_majority
from agree.models.raft_types import LEADER, Election, Log, RaftState
from agree.properties.raft import SAFETY, leader_elected
from agree.spec import Fact, Property, Witness, invariant, property_of, sometimes
from agree.spec.witness import fallible

__all__ = ["PROPERTIES", "SAFETY_RECONFIG"]

#: (term, server, configuration, election or None for a current leader's configuration)
_Use = tuple[int, int, frozenset[int], Election | None]


def _show(cfg: frozenset[int]) -> str:
    return "{" + ", ".join(f"s{m + 1}" for m in sorted(cfg)) + "}"


def _uses(elections: frozenset[Election], leaders: tuple[tuple[int, int, Log], ...],
          initial: frozenset[int]) -> list[_Use]:
    out: list[_Use] = [(e.eterm, e.eleader, config_of(e.elog, initial), e)
                       for e in sorted(elections)]
    out += [(t, i, config_of(lg, initial), None) for t, i, lg in leaders]
    return out


@lru_cache(maxsize=4096)
def _clash(elections: frozenset[Election], leaders: tuple[tuple[int, int, Log], ...],
           initial: frozenset[int]) -> tuple[_Use, _Use] | None:
    """The first two uses of one term by two servers whose configurations do not overlap
    in a majority, or None."""
    uses = _uses(elections, leaders, initial)
    for a, ua in enumerate(uses):
        for ub in uses[a + 1:]:
            if ua[0] == ub[0] and ua[1] != ub[1] and not overlap_in_majority(ua[2], ub[2]):
                return ua, ub
    return None


def _leaders(spec: RaftReconfig, s: RaftState) -> tuple[tuple[int, int, Log], ...]:
    return tuple((s.current_term[i], i, s.log[i]) for i in spec.servers if s.state[i] == LEADER)


@invariant
def configurations_overlap_in_term(spec: RaftReconfig, s: RaftState) -> bool | Witness:
    """No two configurations that do not overlap in a majority are in use in the same
    term (by leaders elected in it, or by its current leaders): single-server changes
    exist to guarantee it (Ongaro's thesis §4.1)."""
    if len(s.elections) < 2:
        return True
    clash = _clash(s.elections, _leaders(spec, s), spec.initial)
    return clash is None or _disjoint(spec, *clash)


def _fact(u: _Use, initial: frozenset[int]) -> Fact:
    term, i, cfg, e = u
    if e is not None:
        return Fact(f"s{i + 1} elected in term {term} under {_show(cfg)} by "
                    f"{_show(e.evotes)}", lambda st: e in st.elections)
    return Fact(f"s{i + 1} leader of term {term} using {_show(cfg)}",
                lambda st: st.state[i] == LEADER and st.current_term[i] == term
                and config_of(st.log[i], initial) == cfg)


@fallible
def _disjoint(spec: RaftReconfig, a: _Use, b: _Use) -> Witness:
    term = a[0]
    return Witness(
        f"configurations {_show(a[2])} (s{a[1] + 1}) and {_show(b[2])} (s{b[1] + 1}) are both "
        f"in use in term {term} but have disjoint majorities",
        [(f"term {term}: ", _fact(a, spec.initial), "; ", _fact(b, spec.initial))],
        {"term": term, "servers": (a[1], b[1]), "configs": (tuple(sorted(a[2])),
                                                             tuple(sorted(b[2])))})


@sometimes
def membership_changed(spec: RaftReconfig, s: RaftState) -> bool:
    """Some leader appends a configuration entry (else no change was explored)."""
    return spec.max_log == 0 or any(config_of(lg, spec.initial) != spec.initial
                                    for lg in s.log)


def _props(*fns: Any) -> tuple[Property, ...]:
    return tuple(property_of(f) for f in fns)


#: Figure 3's safety properties (properties/raft.py) and the configurations' overlap.
SAFETY_RECONFIG: tuple[Property, ...] = (*SAFETY, *_props(configurations_overlap_in_term))

#: Everything checked by default: safety, and two "sometimes" sanity properties.
PROPERTIES: tuple[Property, ...] = (
    *SAFETY_RECONFIG, *_props(leader_elected, membership_changed))
