"""How a Raft state reads in traces and reports: one entry per variable and server.

Shared by raft.tla's port (models/raft.py) and the specs built on it; the history
variables are labelled as such, and the auxiliary ones shown only where they vary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from agree.models.raft_types import RaftState, VoterLog, bag_counts, show_log
from agree.spec import indexed

__all__ = ["raft_view"]


def raft_view(state: RaftState, restarts: bool = False, history: bool = False,
              ) -> dict[str, Any]:
    """The state as labelled strings; ``restarts``: show restart_count, ``history``: the
    proof-only histories kept with history=True."""
    def servers(xs: Iterable[int]) -> str:
        return "{" + ", ".join(f"s{x + 1}" for x in sorted(xs)) + "}"

    def per_server(xs: Sequence[int]) -> str:
        return " ".join(f"s{k + 1}={x}" for k, x in enumerate(xs))

    def voters(vl: VoterLog) -> str:
        return "{" + ", ".join(f"s{v + 1}: {show_log(lg)}" for v, lg in vl) + "}"

    out: dict[str, Any] = {}
    out.update(indexed("current_term", state.current_term, "s"))
    out.update(indexed("state", state.state, "s"))
    out.update(indexed("voted_for", state.voted_for, "s",
                       lambda v: "Nil" if v is None else f"s{v + 1}"))
    out.update(indexed("log", state.log, "s", show_log))
    out.update(indexed("commit_index", state.commit_index, "s"))
    out.update(indexed("votes_responded", state.votes_responded, "s", servers))
    out.update(indexed("votes_granted", state.votes_granted, "s", servers))
    out.update(indexed("next_index", state.next_index, "s", per_server))
    out.update(indexed("match_index", state.match_index, "s", per_server))
    out["messages"] = {str(m): c for m, c in bag_counts(state.messages).items()}
    out.update(indexed("voter_log (history)", state.voter_log, "s", voters))
    out["elections (history)"] = frozenset(
        f"term {e.eterm}: s{e.eleader + 1} by {servers(e.evotes)} log={show_log(e.elog)} "
        f"voter_log={voters(e.evoter_log)}" for e in state.elections)
    out["all_logs (history)"] = frozenset(show_log(lg) for lg in state.all_logs)
    if restarts:
        out["restart_count"] = str(state.restart_count)
    if history:
        out["committed (history)"] = frozenset(
            f"index {c.cindex}: {c.centry} in term {c.cterm}" for c in state.committed)
        out["votes_cast (history)"] = frozenset(
            f"term {v.vterm}: s{v.vvoter + 1} last={v.vlast_index}/{v.vlast_term}"
            for v in state.votes_cast)
    return out
