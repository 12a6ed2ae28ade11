"""`agree prove` and `agree bmc` for Raft and its zoo (properties/raft_z3.py): the
Raft side of checker/cmd_prove.py, which dispatches here for Raft names.

Exit codes as for Paxos: 0 proved / no violation up to the depth, 1 a
counterexample, 2 bad input, 4 unknown (never reported as proved).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agree.checker import registry
from agree.checker.bmc import bmc
from agree.checker.cli import require_positive
from agree.checker.cmd_check import parse_spec_params
from agree.checker.spec import Property, SpecError
from agree.properties.raft_z3 import RaftZ3

__all__ = ["is_raft", "raft_encoding_for", "raft_twins", "run_bmc_raft", "run_prove_raft"]


def is_raft(name: str) -> bool:
    from agree.properties.raft_zoo_z3 import VARIANTS
    return name in VARIANTS


def raft_twins() -> dict[str, Property]:
    """The Python predicates of every Z3 conjunct (safety and lemmas)."""
    from agree.properties.raft import SAFETY
    from agree.properties.raft_lemmas import ELECTION_LEMMAS, LOG_LEMMAS
    return {p.name: p for p in (*SAFETY, *ELECTION_LEMMAS, *LOG_LEMMAS)}


def raft_encoding_for(name: str, *, servers: int, values: int | None, proof: bool,
                      params: dict[str, Any] | None = None, part: str = "all") -> RaftZ3:
    """The Z3 encoding of a registered Raft spec; ``params`` (bounded mode) the explicit
    spec's parameters."""
    from agree.properties.raft_zoo_z3 import VARIANTS
    cls = VARIANTS[name]
    p = params or {}
    if int(p.get("entries_per_append", 1)) != 1:
        raise SpecError("the Raft Z3 encoding sends one entry per AppendEntries "
                        "(--entries-per-append 1)")
    if p.get("history"):
        raise SpecError("the Raft Z3 encoding does not encode the committed history "
                        "(--history false)")
    return cls(servers, values, proof=proof, max_term=int(p.get("max_term", 3)),
               max_log=int(p.get("max_log", 2)), max_messages=int(p.get("max_messages", 2)),
               max_restarts=int(p.get("max_restarts", -1)), part=part)


def run_prove_raft(args: argparse.Namespace) -> int:
    from agree.checker.cmd_prove import prove_and_report
    servers = int(args.servers)
    if servers < 1:
        raise SpecError("--servers must be at least 1")
    require_positive(args, "timeout", "reach_budget")
    part = getattr(args, "part", None) or "all"
    # Restart unbounded (raft.tla); the zoo's restart bugs need it.
    enc = raft_encoding_for(args.spec, servers=servers, values=None, proof=True,
                            params={"max_restarts": -1}, part=part)
    return prove_and_report(args, enc, raft_twins(), show_invariant=True)


def run_bmc_raft(args: argparse.Namespace, extra: list[str]) -> int:
    from agree.checker.cmd_prove import _bmc_json, _bmc_text
    entry = registry.get(args.spec)
    if args.depth < 0:
        raise SpecError("--depth must be 0 or more")
    require_positive(args, "timeout")
    cls = entry.spec_class()
    params = parse_spec_params(cls, extra, f"agree bmc {args.spec}", dict(entry.defaults))
    spec = cls(**params)
    full = spec.param_values()
    enc = raft_encoding_for(args.spec, servers=int(full["servers"]),
                            values=int(full["values"]), proof=False, params=full)
    progress = None
    if not args.quiet and not args.json:
        def progress(k: int, secs: float) -> None:
            print(f"  depth {k}: no violation ({secs:.1f} s)", file=sys.stderr, flush=True)
    res = bmc(enc, spec, args.depth, twins=raft_twins(),
              bound=max(int(full["max_term"]), int(full["max_log"])), timeout=args.timeout,
              incremental=bool(getattr(args, "incremental", False)), progress=progress)
    if args.json:
        print(json.dumps(_bmc_json(res), indent=1))
    else:
        print(_bmc_text(res, spec))
    return res.exit_code
