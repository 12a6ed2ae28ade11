"""Chaos schedules: data that says what goes wrong and when, and its JSON form.

A :class:`Schedule` is a seed, the cluster and workload sizes, the network's misbehaviour
(drop, duplicate, delay = reorder) and a list of timed :class:`Fault` s; everything a run
does follows from it, so a schedule replays (and shrinks, chaos/shrink.py) exactly.
:func:`make_schedule` draws one from a seed; :func:`schedule_to_json` and
:func:`schedule_from_json` write and read the ``agree-chaos-schedule`` v1 document
(refusing a malformed one with a ValueError that says what).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "FAULT_KINDS",
    "MEMBERSHIP_KINDS",
    "Fault",
    "FaultKind",
    "Schedule",
    "make_schedule",
    "schedule_from_json",
    "schedule_to_json",
]

FaultKind = Literal["crash", "partition", "heal", "crash-after-persist", "torn-write", "skew",
                    "election", "add", "remove"]
#: What a fault can be; ``node = -1`` means "whoever leads at that moment".
FAULT_KINDS: tuple[FaultKind, ...] = ("crash", "partition", "heal", "crash-after-persist",
                                      "torn-write", "skew", "election")
#: Membership changes (schedules with spares): ``node = -1`` means "chosen when it
#: happens" (a non-voter to add, a voter to remove).
MEMBERSHIP_KINDS: tuple[FaultKind, ...] = ("add", "remove")
_ORDER = FAULT_KINDS + MEMBERSHIP_KINDS


@dataclass(frozen=True)
class Fault:
    """One timed fault. ``down`` is how long a crashed node stays down (ticks);
    ``rate`` is a skewed node's timer speed in quarter ticks per clock tick; a
    partition without ``groups`` cuts ``node`` (-1: the leader) off from the others."""

    at: int
    kind: FaultKind
    node: int = -1
    down: int = 0
    groups: tuple[tuple[int, ...], ...] = ()
    rate: int = 4

    def describe(self) -> str:
        who = "the leader" if self.node < 0 else f"node {self.node}"
        if self.kind == "crash":
            return f"t={self.at}: crash {who}, restart {self.down} ticks later"
        if self.kind == "partition" and not self.groups:
            return f"t={self.at}: cut {who} off from the others"
        if self.kind == "partition":
            return f"t={self.at}: partition {' | '.join(str(list(g)) for g in self.groups)}"
        if self.kind == "heal":
            return f"t={self.at}: heal the network"
        if self.kind == "skew":
            return f"t={self.at}: {who}'s timer runs at {self.rate / 4:g}x"
        if self.kind in MEMBERSHIP_KINDS:
            whom = "a non-voter" if self.kind == "add" else "a voter"
            target = whom if self.node < 0 else f"node {self.node}"
            return f"t={self.at}: {self.kind} {target} (retried for 30 ticks if refused)"
        if self.kind == "election":
            return (f"t={self.at}: nodes {list(self.groups[0])} time out at once (clients pause "
                    "from 20 ticks before to 5 after, so that logs are even)")
        what = "after persisting, before sending" if self.kind == "crash-after-persist" \
            else "while writing (the write is torn: lost)"
        return f"t={self.at}: {who} crashes at its next write, {what}; down {self.down} ticks"


@dataclass(frozen=True)
class Schedule:
    """A reproducible chaos run (all randomness comes from ``seed``)."""

    seed: int
    nodes: int = 3
    clients: int = 4
    keys: int = 2
    ticks: int = 300
    p_drop: float = 0.05
    p_duplicate: float = 0.02
    p_delay: float = 0.2
    faults: tuple[Fault, ...] = ()
    snapshot_every: int = 0
    spares: int = 0
    """servers beyond ``nodes``, not voting at first (ids nodes..nodes+spares-1)"""

    def describe(self) -> str:
        spares = f" (+{self.spares} spare{'s' if self.spares > 1 else ''})" \
            if self.spares else ""
        head = (f"schedule seed={self.seed}: {self.nodes} nodes{spares}, {self.clients} clients, "
                f"{self.keys} keys, {self.ticks} ticks; network drops {self.p_drop:.0%}, "
                f"duplicates {self.p_duplicate:.0%}, delays {self.p_delay:.0%} of messages")
        if self.snapshot_every:
            head += f"; a snapshot every {self.snapshot_every} applied entries"
        lines = ["  " + f.describe() for f in self.faults] or ["  (no faults)"]
        return "\n".join([head, *lines])


def make_schedule(seed: int, nodes: int = 3, clients: int = 4, keys: int = 2,
                  ticks: int = 300, snapshot_every: int = 0, spares: int = 0) -> Schedule:
    """A random schedule drawn from ``seed``: 2 to 10 faults of every kind (nodes
    snapshotting every ``snapshot_every`` applied entries; 0: never); with ``spares``,
    that many more servers and 2 to 6 membership changes besides (drawn from their own
    generator, so the other faults are those of the schedule without spares)."""
    rng = random.Random(f"schedule:{seed}")
    faults: list[Fault] = []
    for _ in range(rng.randint(2, 10)):
        at = rng.randrange(10, max(11, ticks - 10))
        kind: FaultKind = rng.choices(
            FAULT_KINDS, weights=(5, 3, 2, 2, 2, 2, 2))[0]
        node = -1 if rng.random() < 0.5 else rng.randrange(nodes)
        down = rng.randint(5, 60)
        if kind == "partition":
            order = list(range(nodes))
            rng.shuffle(order)
            cut = rng.randint(1, nodes - 1)
            groups = (tuple(sorted(order[:cut])), tuple(sorted(order[cut:])))
            faults.append(Fault(at, kind, groups=groups))
        elif kind == "skew":
            faults.append(Fault(at, kind, node=rng.randrange(nodes), rate=rng.choice(
                (1, 2, 3, 5, 6, 8))))
        elif kind == "election":
            # all nodes but one time out at once (rival candidates of one term), and often
            # the one left to vote dies just after voting and comes straight back
            order = list(range(nodes))
            rng.shuffle(order)
            faults.append(Fault(at, kind, groups=(tuple(sorted(order[1:])),)))
            if rng.random() < 0.7:
                faults.append(Fault(at + rng.randint(1, 2), "crash", order[0],
                                    down=rng.randint(1, 6)))
        else:
            faults.append(Fault(at, kind, node=node, down=down))
    if spares:
        mrng = random.Random(f"membership:{seed}")
        for n in range(mrng.randint(2, 6)):
            change: FaultKind = "add" if n % 2 == 0 else "remove"
            faults.append(Fault(mrng.randrange(10, max(11, ticks - 10)), change))
    faults.sort(key=lambda f: (f.at, _ORDER.index(f.kind), f.node))
    return Schedule(seed, nodes, clients, keys, ticks,
                    p_drop=rng.choice((0.0, 0.02, 0.05, 0.15)),
                    p_duplicate=rng.choice((0.0, 0.02, 0.05)),
                    p_delay=rng.choice((0.0, 0.2, 0.5)), faults=tuple(faults),
                    snapshot_every=snapshot_every, spares=spares)


# -- schedules as JSON (to replay a shrunk failure) ------------------------------------


def schedule_to_json(s: Schedule) -> dict[str, Any]:
    """The schedule as a JSON document (``agree-chaos-schedule`` v1)."""
    return {"schema": "agree-chaos-schedule", "version": 1, "seed": s.seed, "nodes": s.nodes,
            "clients": s.clients, "keys": s.keys, "ticks": s.ticks, "p_drop": s.p_drop,
            "p_duplicate": s.p_duplicate, "p_delay": s.p_delay,
            "snapshot_every": s.snapshot_every,
            **({"spares": s.spares} if s.spares else {}),
            "faults": [{"at": f.at, "kind": f.kind, "node": f.node, "down": f.down,
                        "groups": [list(g) for g in f.groups], "rate": f.rate}
                       for f in s.faults]}


def _int(doc: dict[str, Any], key: str, lo: int, hi: int) -> int:
    v = doc.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ValueError(f"{key!r} must be an integer in {lo}..{hi}, not {v!r}")
    return v


def _prob(doc: dict[str, Any], key: str) -> float:
    v = doc.get(key)
    if not isinstance(v, int | float) or isinstance(v, bool) or not 0.0 <= v <= 0.5:
        raise ValueError(f"{key!r} must be a number in 0..0.5, not {v!r}")
    return float(v)


def schedule_from_json(doc: Any) -> Schedule:
    """Rebuild a schedule, refusing anything malformed with a ValueError that says what."""
    if not isinstance(doc, dict) or doc.get("schema") != "agree-chaos-schedule":
        raise ValueError("not a chaos schedule (schema 'agree-chaos-schedule' expected)")
    if doc.get("version") != 1:
        raise ValueError(f"unsupported chaos schedule version {doc.get('version')!r}")
    nodes = _int(doc, "nodes", 1, 9)
    spares = _int({"spares": 0, **doc}, "spares", 0, 9)
    universe = nodes + spares
    kinds = FAULT_KINDS + (MEMBERSHIP_KINDS if spares else ())
    faults = []
    raw = doc.get("faults")
    if not isinstance(raw, list):
        raise ValueError("'faults' must be a list")
    for n, f in enumerate(raw, 1):
        if not isinstance(f, dict) or f.get("kind") not in kinds:
            raise ValueError(f"fault {n}: 'kind' must be one of {', '.join(kinds)}")
        groups = f.get("groups", [])
        if not (isinstance(groups, list) and all(
                isinstance(g, list) and all(isinstance(k, int) and not isinstance(k, bool)
                                            and 0 <= k < universe for k in g)
                for g in groups)):
            raise ValueError(f"fault {n}: 'groups' must be lists of node ids below {universe}")
        faults.append(Fault(_int(f, "at", 0, 10**6), f["kind"],
                            _int(f, "node", -1, universe - 1),
                            _int(f, "down", 0, 10**6), tuple(tuple(g) for g in groups),
                            _int(f, "rate", 1, 16)))
    return Schedule(_int(doc, "seed", -(2**63), 2**63), nodes, _int(doc, "clients", 1, 64),
                    _int(doc, "keys", 1, 64), _int(doc, "ticks", 1, 10**6),
                    _prob(doc, "p_drop"), _prob(doc, "p_duplicate"), _prob(doc, "p_delay"),
                    tuple(sorted(faults, key=lambda f: f.at)),
                    _int({"snapshot_every": 0, **doc}, "snapshot_every", 0, 10**6), spares)
