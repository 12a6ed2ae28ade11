"""`agree prove` and `agree bmc` for Raft and its zoo: the Raft side of
checker/cmd_prove.py, which dispatches here for Raft names. prove uses
properties/raft_z3.py; bmc the finite scalar encoding properties/raft_bmc.py.

Exit codes as for Paxos: 0 proved / no violation up to the depth, 1 a
counterexample, 2 bad input, 4 unknown (never reported as proved).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agree.cli.check import parse_spec_params
from agree.cli.main import require_positive
from agree.protocols import registry
from agree.spec import Property, SpecError
from agree.symbolic.bmc import bmc
from agree.symbolic.raft.encoding import RaftZ3
from agree.symbolic.z3base import solver_for

__all__ = ["is_raft", "raft_encoding_for", "raft_twins", "run_bmc_raft", "run_prove_raft"]


def is_raft(name: str) -> bool:
    from agree.symbolic.raft.zoo import VARIANTS
    return name in VARIANTS


def raft_twins() -> dict[str, Property]:
    """The Python predicates of every Z3 conjunct (safety and lemmas)."""
    from agree.properties.raft import SAFETY
    from agree.properties.raft_lemmas import ELECTION_LEMMAS, LOG_LEMMAS
    return {p.name: p for p in (*SAFETY, *ELECTION_LEMMAS, *LOG_LEMMAS)}


def _refuse_unencoded(params: dict[str, Any], which: str) -> None:
    """Both Raft encodings send one entry per AppendEntries and leave out the
    committed history: other parameter values are refused, not approximated."""
    if int(params.get("entries_per_append", 1)) != 1:
        raise SpecError(f"the Raft {which} encoding sends one entry per AppendEntries "
                        "(--entries-per-append 1)")
    if params.get("history"):
        raise SpecError(f"the Raft {which} encoding does not encode the committed history "
                        "(--history false)")


def raft_encoding_for(name: str, *, servers: int, values: int | None, proof: bool,
                      params: dict[str, Any] | None = None, part: str = "all") -> RaftZ3:
    """The Z3 encoding of a registered Raft spec; ``params`` (bounded mode) the explicit
    spec's parameters."""
    from agree.symbolic.raft.zoo import VARIANTS
    cls = VARIANTS[name]
    p = params or {}
    _refuse_unencoded(p, "Z3")
    return cls(servers, values, proof=proof, max_term=int(p.get("max_term", 3)),
               max_log=int(p.get("max_log", 2)), max_messages=int(p.get("max_messages", 2)),
               max_restarts=int(p.get("max_restarts", -1)), part=part)


def run_prove_raft(args: argparse.Namespace) -> int:
    from agree.cli.prove import prove_and_report
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
    """Raft BMC on the finite scalar encoding (properties/raft_bmc.py); ``--from
    TRACE.json[:K]`` starts the symbolic search at the state a replayed prefix reaches;
    ``--incremental`` asks each depth in turn (a shortest violation; faster on the
    shallow zoo bugs, slower on commit-past-entries)."""
    from agree.checker.start_from import prepare, starting_at
    from agree.cli.prove import _bmc_json, _bmc_text
    from agree.symbolic.raft.bmc_zoo import BMC_VARIANTS

    entry = registry.get(args.spec)
    if args.depth < 0:
        raise SpecError("--depth must be 0 or more")
    require_positive(args, "timeout")
    if args.encoding != "finite":
        raise SpecError("--encoding arrays is for Paxos: Raft BMC has one encoding "
                        "(properties/raft_bmc.py)")
    from_text = args.from_trace
    cls = entry.spec_class()
    params = parse_spec_params(cls, extra, f"agree bmc {args.spec}", dict(entry.defaults))
    spec = cls(**params)
    full = spec.param_values()
    _refuse_unencoded(full, "BMC")
    start = prepare(spec, from_text) if from_text is not None else None
    enc = BMC_VARIANTS[args.spec](
        int(full["servers"]), int(full["values"]), int(full["max_term"]), int(full["max_log"]),
        int(full["max_messages"]), int(full["max_restarts"]),
        start=None if start is None else start.state)
    searched = spec if start is None else starting_at(spec, start.state)
    talk = not args.quiet and not args.json
    if start is not None and talk:
        print(f"{start.describe()}: steps 1..{start.step} replayed on the explicit spec, "
              f"steps {start.step + 1}..{start.step + args.depth} searched symbolically",
              file=sys.stderr, flush=True)
    progress = None
    if talk:
        def progress(k: int, secs: float) -> None:
            print(f"  depth {k}: no violation ({secs:.1f} s)", file=sys.stderr, flush=True)
    logic = enc.logic  # QF_BV for the bit-vector encoding
    res = bmc(enc, searched, args.depth, twins=raft_twins(), bound=0, timeout=args.timeout,
              incremental=args.incremental,
              progress=progress,
              make_solver=None if logic is None else lambda: solver_for(logic))
    if start is not None and res.trace is not None:
        res.trace = start.prepend(res.trace)
    if args.json:
        out = _bmc_json(res)
        if start is not None:
            out["from"] = {"file": start.file, "replayed_steps": start.step,
                           "symbolic_steps": res.reached if res.trace else res.depth}
        print(json.dumps(out, indent=1))
    else:
        text = _bmc_text(res, spec)
        if start is not None:
            found = (f"; the trace below is {start.step} replayed + {res.reached} found = "
                     f"{start.step + res.reached} steps from Init" if res.trace else "")
            lines = text.split("\n")  # the note goes under the header, above the trace
            lines.insert(2, f"--from {from_text}: depths count from step {start.step}; "
                         f"steps 1..{start.step} were replayed, not searched{found}")
            text = "\n".join(lines)
        print(text)
    return res.exit_code
