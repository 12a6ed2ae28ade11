"""Spike (not wired into ``agree prove``): the --part complete encoding with a
voter-log ghost and the vote lemmas of properties/raft_vote_lemmas.py (Verdi's
``votesWithLog``) in Z3, enough to prove two of the five obligations the invariant
alone leaves unknown (issue 20, point 1; docs/z3.md).

Ghost, per voter j and term T, written when j first grants a vote in T
(HandleRequestVoteRequest with ``voted[j]`` nil): ``von[j, T]`` (j voted in T),
``vlt[j, T]``, ``vll[j, T]``, the last term and length of j's log then. Only that
summary is needed: the candidate's log is at least as up to date as it, and a
committed entry (t, m) lies in every later vote's log exactly when the summary is at
least (t, m), because terms in a log never decrease.

Not done: the ghost is not held to the explicit model (``concrete``/``decode`` leave
it out; the explicit counterpart is the first granted ``mlog`` per voter and term,
which ``models/raft.py`` does not keep once a response is dropped), and the new
conjuncts' own obligations are not checked.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import z3  # type: ignore[import-untyped]

from agree.symbolic.raft.history import RaftHistoryZ3
from agree.symbolic.raft.invariant import _all_ints, _msgs, elected_in, granted, not_follower
from agree.symbolic.z3base import Conjunct

__all__ = ["VOTE_CONJUNCTS", "RaftVotesZ3", "vote_lemmas"]

Int = z3.IntSort()


class VoteVars(NamedTuple):
    """HistoryVars (same fields, same order) and the vote ghost."""

    term: Any
    role: Any
    voted: Any
    commit: Any
    llen: Any
    lterm: Any
    lval: Any
    vresp: Any
    vgrant: Any
    next_idx: Any
    match_idx: Any
    rvreq: Any
    rvresp: Any
    aereq: Any
    aeresp: Any
    inflight: Any
    elected: Any
    restarts: Any
    gllen: Any
    glt: Any
    glv: Any
    ctop: Any
    von: Any
    vlt: Any
    vll: Any


def at_least(lt: Any, ll: Any, t: Any, m: Any) -> z3.BoolRef:
    """A log with last term ``lt`` and length ``ll`` is at least as up to date as one
    with last term t and length m."""
    return z3.Or(lt > t, z3.And(lt == t, ll >= m))


class RaftVotesZ3(RaftHistoryZ3):
    """raft.tla with the histories and the vote ghost (module doc)."""

    def fresh_state(self, tag: str) -> Any:
        base = super().fresh_state(tag)
        return VoteVars._make((*base, z3.Array(f"von@{tag}", self.S, Int, z3.BoolSort()),
                               z3.Array(f"vlt@{tag}", self.S, Int, Int),
                               z3.Array(f"vll@{tag}", self.S, Int, Int)))

    def a_handle_request_vote_request(self, s: Any, tag: str) -> tuple[z3.BoolRef, Any]:
        guard, post = super().a_handle_request_vote_request(s, tag)
        t: Any = post  # a VoteVars
        _, i, _, _, _ = self.msg_params("rvreq", tag)
        first = z3.And(t.voted[i] != self.nil, s.voted[i] == self.nil)
        term = s.term[i]
        return guard, t._replace(
            von=z3.If(first, z3.Store(s.von, i, term, True), s.von),
            vlt=z3.If(first, z3.Store(s.vlt, i, term, self.last_term(s, i)), s.vlt),
            vll=z3.If(first, z3.Store(s.vll, i, term, s.llen[i]), s.vll))

    def invariants(self, s: Any) -> list[Conjunct]:
        return [*super().invariants(s), *vote_lemmas(self, s)]


def vote_lemmas(enc: RaftVotesZ3, s: Any) -> list[Conjunct]:
    """The Z3 forms of properties/raft_vote_lemmas.py over the summary ghost."""
    srv = enc.srv

    def le_log(j: Any, c: Any, t: Any) -> z3.BoolRef:
        return z3.And(s.von[j, t], at_least(enc.last_term(s, c), s.llen[c],
                                            s.vlt[j, t], s.vll[j, t]))

    def le_grown(j: Any, t: Any) -> z3.BoolRef:
        last = z3.If(s.gllen[t] > 0, s.glt[t, s.gllen[t]], 0)
        return z3.And(s.von[j, t], at_least(last, s.gllen[t], s.vlt[j, t], s.vll[j, t]))

    recorded = z3.And([z3.Implies(s.voted[j] != enc.nil, s.von[j, s.term[j]]) for j in srv])
    up_to_date = z3.And([z3.Implies(z3.And(not_follower(enc, s, c), z3.Or(
        s.vgrant[c, j], granted(s, j, c, s.term[c]),
        z3.And(s.term[j] == s.term[c], s.voted[j] == enc.some(c)))), le_log(j, c, s.term[c]))
        for c in srv for j in srv])
    elected = _all_ints(1, lambda t: z3.And([z3.Implies(
        s.elected[t, c], enc.quorum(lambda j: le_grown(j, t))) for c in srv]))

    def kept(j: Any, t: Any, m: Any) -> z3.BoolRef:
        """j's log has term t at m, and every vote j cast after t had such a log."""
        return z3.And(m <= s.llen[j], s.lterm[j, m] == t, _all_ints(1, lambda u: z3.Implies(
            z3.And(u > t, s.von[j, u]), at_least(s.vlt[j, u], s.vll[j, u], t, m))))

    committed = _all_ints(1, lambda t: z3.Implies(
        s.ctop[t] > 0, enc.quorum(lambda j: kept(j, t, s.ctop[t]))))

    def acked(i: Any, j: Any, k: Any) -> z3.BoolRef:
        return z3.Or(z3.BoolVal(z3.eq(i, j)), s.match_idx[i, j] >= k)

    def own_acked(i: Any, k: Any) -> z3.BoolRef:
        return z3.And(s.role[i] == enc.L, k >= 1, k <= s.llen[i], s.lterm[i, k] == s.term[i],
                      enc.quorum(lambda j: acked(i, j, k)))

    acked_kept = z3.And([_all_ints(1, lambda k, i=i: z3.Implies(own_acked(i, k), z3.And(
        [z3.Implies(acked(i, j, k), kept(j, s.term[i], k)) for j in srv]))) for i in srv])
    ack_msg_kept = _msgs(enc, s, "aeresp", lambda src, dst, t, ok, m: z3.Implies(
        z3.And(ok, m >= 1, s.glt[t, m] == t), kept(src, t, m)))
    acked_in_later = z3.And([_all_ints(2, lambda k, t2, i=i: z3.Implies(
        z3.And(own_acked(i, k), t2 > s.term[i], elected_in(enc, s, t2)),
        z3.And(k <= s.gllen[t2], s.glt[t2, k] == s.term[i]))) for i in srv])
    return [Conjunct("vote_recorded", recorded), Conjunct("vote_up_to_date", up_to_date),
            Conjunct("elected_up_to_date", elected), Conjunct("committed_kept", committed),
            Conjunct("acked_kept", acked_kept), Conjunct("ack_msg_kept", ack_msg_kept),
            Conjunct("acked_in_later", acked_in_later)]


#: The conjuncts vote_lemmas adds, in order.
VOTE_CONJUNCTS = ("vote_recorded", "vote_up_to_date", "elected_up_to_date", "committed_kept",
                  "acked_kept", "ack_msg_kept", "acked_in_later")
