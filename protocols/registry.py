"""The specs `agree` knows by name, and loading a user's spec from a file.

An entry pairs a spec class (``models/``) with its properties
(``properties/``); ``models`` cannot import ``properties``, so the pairing
lives here. Zoo entries also say which rule they break and where it comes from.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agree.spec import Property, Spec, SpecError

__all__ = ["SpecEntry", "build", "entries", "get", "load", "load_user_spec", "resolve"]


@dataclass(frozen=True)
class SpecEntry:
    """A named spec: its class, properties, and (for the zoo) what it breaks."""

    name: str
    spec: str  # "module:Class", imported on first use
    properties: str  # "module:ATTRIBUTE" holding a sequence of Property
    summary: str
    group: str = "protocol"  # "protocol", "article" or "zoo"
    breaks: str = ""  # the property a zoo variant violates
    source: str = ""  # where the bug is described
    defaults: tuple[tuple[str, Any], ...] = ()  # parameters that differ from the class's

    def spec_class(self) -> type[Spec[Any]]:
        return _import(self.spec)  # type: ignore[no-any-return]

    def property_list(self) -> tuple[Property, ...]:
        return tuple(_import(self.properties))


def _import(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


_P = "agree.properties.paxos:PROPERTIES"
_R = "agree.properties.raft:PROPERTIES"
_ZR = "agree.models.zoo.raft:"
_ZP = "agree.models.zoo.paxos:"
_RAFT_2_TERM_3 = (("servers", 2), ("max_term", 3), ("max_log", 0), ("max_messages", 1),
                  ("max_restarts", 0))
_RAFT_3_ONE_RESTART = (("servers", 3), ("max_term", 2), ("max_log", 0), ("max_messages", 1),
                       ("max_restarts", 1))
_PAXOS_1_BALLOT_1 = (("acceptors", 1), ("values", 2), ("max_ballot", 1))
_PAXOS_3_BALLOT_2 = (("acceptors", 3), ("values", 2), ("max_ballot", 2))

_ENTRIES: list[SpecEntry] = [
    SpecEntry("paxos", "agree.models.paxos:Paxos", _P,
              "Lamport's Paxos.tla: single-decree Paxos over a message set"),
    SpecEntry("paxos-article", "agree.models.paxos_article:ArticlePaxos",
              "agree.properties.paxos_article:PROPERTIES",
              "Paxos exactly as the article describes it (unsafe)", group="article",
              breaks="agreement", source="the article: Promise() carries no accepted value"),
    SpecEntry("paxos-pid-timestamp", "agree.models.paxos_article:PidTimestampPaxos", _P,
              "Paxos.tla with the article's ids: two proposers may share a ballot",
              group="article", breaks="agreement",
              source="the article: unique id = process id + Unix timestamp"),
    SpecEntry("paxos-liveness", "agree.models.paxos_liveness:LivenessPaxos",
              "agree.models.paxos_liveness:PROPERTIES",
              "Paxos with explicit proposers: liveness (dueling proposers livelock)"),
    SpecEntry("raft", "agree.models.raft:Raft", "agree.properties.raft:PROPERTIES",
              "Ongaro's raft.tla: leader election and log replication, lossy network"),
    # The bug zoo: defaults = the smallest failing configuration benchmarks/zoo_search.py found.
    SpecEntry("raft-commit-old-term", _ZR + "CommitOldTermRaft", _R,
              "Raft whose leader commits an earlier term's entry by counting replicas",
              group="zoo", breaks="leader_completeness",
              source="Raft paper §5.4.2, figure 8; LogCabin #44",
              defaults=(("servers", 3), ("max_term", 5), ("max_log", 1), ("max_messages", 1),
                        ("max_restarts", 0))),
    SpecEntry("raft-forget-vote", _ZR + "ForgetVoteRaft", _R,
              "Raft whose servers forget their vote on restart", group="zoo",
              breaks="election_safety",
              source="Raft paper figure 2 (persistent state); raft.tla PR #5",
              defaults=_RAFT_3_ONE_RESTART),
    SpecEntry("raft-forget-term", _ZR + "ForgetTermRaft", _R,
              "Raft whose servers restart in term 1", group="zoo", breaks="election_safety",
              source="Raft paper figure 2 (persistent state); raft.tla PR #5",
              defaults=_RAFT_3_ONE_RESTART),
    SpecEntry("raft-vote-any-log", _ZR + "VoteAnyLogRaft", _R,
              "Raft that grants votes without the log up-to-date check", group="zoo",
              breaks="leader_completeness", source="Raft paper §5.4.1",
              defaults=(("servers", 3), ("max_term", 3), ("max_log", 1), ("max_messages", 1),
                        ("max_restarts", 0))),
    SpecEntry("raft-leader-ignores-term", _ZR + "LeaderIgnoresTermRaft", _R,
              "Raft whose leader adopts a higher term but stays leader", group="zoo",
              breaks="one_leader_per_term", source="Raft paper figure 2, §5.1",
              defaults=_RAFT_2_TERM_3),
    SpecEntry("raft-stale-votes", _ZR + "StaleVotesRaft", _R,
              "Raft whose candidate counts votes granted in an older term", group="zoo",
              breaks="election_safety", source="Raft paper §5.2; akka-raft #45",
              defaults=_RAFT_2_TERM_3),
    SpecEntry("raft-truncate-on-stale-append", _ZR + "TruncateOnStaleAppendRaft", _R,
              "Raft whose follower truncates its log on a stale AppendEntries", group="zoo",
              breaks="leader_completeness",
              source="Raft paper figure 2, AppendEntries step 3",
              defaults=(("servers", 3), ("max_term", 3), ("max_log", 1), ("max_messages", 2),
                        ("max_restarts", 0))),
    SpecEntry("raft-commit-past-entries", _ZR + "CommitPastEntriesRaft", _R,
              "Raft whose follower's commitIndex is not capped at its last new entry",
              group="zoo", breaks="commit_index_in_log",
              source="Raft paper figure 2, AppendEntries step 5",
              defaults=(("servers", 3), ("max_term", 2), ("max_log", 2), ("max_messages", 1),
                        ("max_restarts", 0))),
    SpecEntry("paxos-accept-below-promise", _ZP + "AcceptBelowPromisePaxos", _P,
              "Paxos whose acceptor votes below its promise", group="zoo",
              breaks="agreement", source="Paxos Made Simple §2.2",
              defaults=_PAXOS_1_BALLOT_1),
    SpecEntry("paxos-amnesia", _ZP + "AmnesiaPaxos", _P,
              "Paxos whose acceptor forgets its promise and vote on restart", group="zoo",
              breaks="agreement", source="Paxos Made Simple §2.2; Paxos Made Live",
              defaults=(("acceptors", 1), ("values", 2), ("max_ballot", 1))),
    SpecEntry("paxos-wrong-value", _ZP + "WrongValuePaxos", _P,
              "Paxos whose proposer may take a value other than the highest-ballot vote's",
              group="zoo", breaks="agreement", source="Paxos Made Simple §2.2",
              defaults=_PAXOS_3_BALLOT_2),
    SpecEntry("paxos-2b-keeps-promise", _ZP + "TwoBKeepsPromisePaxos", _P,
              "Paxos whose 2b does not raise maxBal", group="zoo", breaks="agreement",
              source="Paxos.tla Phase2b; Brooker 2021 via apache/cassandra #1327",
              defaults=_PAXOS_3_BALLOT_2),
]


def entries() -> list[SpecEntry]:
    """Every registered spec, protocols first, then the article's, then the zoo."""
    order = {"protocol": 0, "article": 1, "zoo": 2}
    return sorted(_ENTRIES, key=lambda e: order.get(e.group, 3))


def get(name: str) -> SpecEntry:
    """The entry called ``name``; an unknown name is a :class:`SpecError`."""
    for e in _ENTRIES:
        if e.name == name:
            return e
    known = ", ".join(e.name for e in entries())
    raise SpecError(f"unknown spec {name!r} (known: {known}; `agree list` describes them)")


def coerce_params(cls: type[Spec[Any]], given: Mapping[str, Any],
                  defaults: Mapping[str, Any] = {}) -> dict[str, Any]:
    """Check parameter names and types against the spec's signature."""
    params = {p.name: p for p in cls.parameters()}
    out = dict(defaults)
    for key, value in given.items():
        name = key.replace("-", "_")
        if name not in params:
            known = ", ".join(p.flag for p in params.values()) or "none"
            raise SpecError(f"spec {cls.name} has no parameter {key!r} (parameters: {known})")
        typ = params[name].type
        if typ is bool:
            if not isinstance(value, bool):
                raise SpecError(f"parameter {name} must be true or false, not {value!r}")
        elif typ is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpecError(f"parameter {name} must be an integer, not {value!r}")
            if value > params[name].max:
                raise SpecError(f"parameter {name} = {value} is beyond what {cls.name} "
                                f"accepts (at most {params[name].max})")
        out[name] = value
    return out


def build(name: str, params: Mapping[str, Any] | None = None,
          ) -> tuple[Spec[Any], tuple[Property, ...]]:
    """Instantiate a registered spec with parameters; returns it with its properties."""
    entry = get(name)
    cls = entry.spec_class()
    spec = cls(**coerce_params(cls, params or {}, dict(entry.defaults)))
    return spec, entry.property_list()


def load(name: str) -> tuple[type[Spec[Any]], tuple[Property, ...], dict[str, Any]]:
    """The spec class, its properties and its default parameters, for a registered
    name or a user's ``FILE.py[:Class]``."""
    if name.endswith(".py") or ".py:" in name:
        cls, props = load_user_spec(name)
        return cls, props, {}
    entry = get(name)
    return entry.spec_class(), entry.property_list(), dict(entry.defaults)


def resolve(name: str, params: Mapping[str, Any]) -> tuple[Spec[Any], Sequence[Property]]:
    """Resolver for trace files: a registered name, or ``file.py:Class`` of a user spec."""
    cls, props, defaults = load(name)
    spec = cls(**coerce_params(cls, params, defaults))
    return spec, (*spec.declared_properties(), *props)


def load_user_spec(ref: str) -> tuple[type[Spec[Any]], tuple[Property, ...]]:
    """Load ``path/to/file.py`` (or ``file.py:ClassName``): the spec class it defines
    and any module-level ``PROPERTIES``."""
    path_s, _, cls_name = ref.partition(".py:")
    path = Path(path_s if not cls_name else path_s + ".py")
    if not path.is_file():
        raise SpecError(f"no such spec file: {path}")
    mod_name = f"agree_user_spec_{abs(hash(str(path.resolve())))}"
    loader_spec = importlib.util.spec_from_file_location(mod_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise SpecError(f"cannot load {path} as Python")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[mod_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:
        raise SpecError(f"{path} raised on import: {type(exc).__name__}: {exc}") from None
    classes = [c for c in vars(module).values()
               if inspect.isclass(c) and issubclass(c, Spec) and c is not Spec
               and c.__module__ == mod_name]
    if cls_name:
        classes = [c for c in classes if c.__name__ == cls_name]
    if len(classes) != 1:
        what = f"a spec class {cls_name!r}" if cls_name else "exactly one Spec subclass"
        raise SpecError(f"{path} must define {what} (found {len(classes)}); "
                        "name one with FILE.py:ClassName")
    props = tuple(getattr(module, "PROPERTIES", ()))
    return classes[0], props

