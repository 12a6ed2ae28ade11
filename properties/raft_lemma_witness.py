"""Why a Raft prover lemma fails: the witnesses of properties/raft_lemmas.py.

Each builder runs only once its lemma has found the state bad (never on the checker's
hot path), recomputes the server, vote, message, term or index that breaks it and names
them as :class:`~agree.spec.Fact` s (the reusable ones, an election with its votes, an
entry at an index, a leader of a term, come from properties/raft_witness.py): a vote
response or an AppendEntries request is established by the step that sent it, a counted
vote by the response that put the voter in ``votes_granted``, a server's term or vote by
the step that set it.
"""

from __future__ import annotations

from typing import Any

from agree.models.raft import Raft
from agree.models.raft_types import AEREQ, AERESP, CANDIDATE, FOLLOWER, LEADER, RVRESP, RaftState
from agree.properties.raft_flight import entries_in_flight as _entries_in_flight
from agree.properties.raft_flight import granted, voted_for_in
from agree.properties.raft_flight import term_at as _term_at
from agree.properties.raft_witness import _election, _holds_entry, _leader, _missing, _s
from agree.spec import Fact, Witness
from agree.spec.witness import Line, fallible

__all__ = ["aereq_log_mismatch", "aereq_mismatch", "bad_type", "candidate_elected",
           "election_ahead_of_term", "entry_of_no_election", "leader_lacks_log_entry",
           "leader_lacks_msg_entry", "leader_not_elected", "leader_without_quorum",
           "unbound_election", "vote_counted_twice", "vote_not_voted", "vote_resp_not_voted",
           "vote_resp_tallied_elsewhere", "vote_resp_twice"]


def _variable(spec: Raft, var: str, i: int, value: Any, j: int | None = None) -> Fact:
    """``current_term[s1] = 0`` (``next_index[s1][s2]`` with a peer), established by the
    step that set it."""
    if j is None:
        return Fact(f"{var}[{_s(spec, i)}] = {value}", lambda st: getattr(st, var)[i] == value)
    return Fact(f"{var}[{_s(spec, i)}][{_s(spec, j)}] = {value}",
                lambda st: getattr(st, var)[i][j] == value)


def _sent(m: Any, text: str) -> Fact:
    """A message in flight, established by the step that sent it (the latest copy)."""
    return Fact(text, lambda st: m in st.messages)


def _granted_msg(s: RaftState, j: int, c: int, t: int) -> Any:
    """The granted vote response of voter j to c in term t in flight (the first in the bag)."""
    return next(m for m in s.messages if m.mtype == RVRESP and m.mvote_granted
                and (m.msource, m.mdest, m.mterm) == (j, c, t))


def _grant_fact(spec: Raft, j: int, c: int, t: int, s: RaftState) -> Fact:
    return _sent(_granted_msg(s, j, c, t),
                 f"{_s(spec, j)} granted its vote to {_s(spec, c)} in term {t}")


def _counted(spec: Raft, c: int, j: int, t: int) -> Fact:
    """Candidate or leader c of term t counts j's vote."""
    return Fact(f"{_s(spec, c)} counted the vote of {_s(spec, j)}",
                lambda st: j in st.votes_granted[c] and st.current_term[c] == t)


def _voter_now(spec: Raft, s: RaftState, j: int) -> Fact:
    """Where voter j stands: its term and whom it voted for there."""
    term, vote = s.current_term[j], s.voted_for[j]
    whom = "nobody" if vote is None else _s(spec, vote)
    return Fact(f"{_s(spec, j)} in term {term}, its vote for {whom}",
                lambda st: st.current_term[j] == term and st.voted_for[j] == vote)


def _not_voted_for(s: RaftState, j: int, c: int, t: int) -> bool:
    return not voted_for_in(s, j, c, t)


def _ae_fact(spec: Raft, m: Any) -> Fact:
    e = m.mentries[0]
    return _sent(m, f"{_s(spec, m.msource)} sent {e} at index {m.mprev_log_index + 1} "
                    f"(previous term {m.mprev_log_term}) to {_s(spec, m.mdest)}")


def _ae_msgs(s: RaftState, p: int, pt: int, et: int, ev: int) -> list[Any]:
    """The AppendEntries requests in flight carrying one entry (the tuple of _entries_in_flight
    in raft_flight)."""
    return [m for m in s.messages if m.mtype == AEREQ and m.mentries
            and (m.mprev_log_index, m.mprev_log_term, m.mentries[0].term,
                 m.mentries[0].value) == (p, pt, et, ev)]


# -- the election lemmas ---------------------------------------------------------------


@fallible
def bad_type(spec: Raft, s: RaftState) -> Witness:
    """type_ok: the first variable or message field out of its type."""
    checks: list[tuple[str, int, int | None, int, int]] = []  # var, i, j, value, lowest
    for i in spec.servers:
        checks += [("current_term", i, None, s.current_term[i], 1),
                   ("commit_index", i, None, s.commit_index[i], 0)]
    for i in spec.servers:
        for k in spec.servers:
            checks += [("next_index", i, k, s.next_index[i][k], 1),
                       ("match_index", i, k, s.match_index[i][k], 0)]
    for var, i, j, value, low in checks:
        if value < low:
            peer = "" if j is None else f"[{_s(spec, j)}]"
            return Witness(f"{var}[{_s(spec, i)}]{peer} = {value} is below {low}",
                           [(_variable(spec, var, i, value, j),)],
                           {"variable": var, "server": i, "peer": j, "value": value})
    if s.restart_count < 0:
        n = s.restart_count
        return Witness(f"restart_count = {n} is below 0",
                       [(Fact(f"restart_count = {n}", lambda st: st.restart_count == n),)],
                       {"variable": "restart_count", "value": n})
    m = next(m for m in s.messages if (
        m.mtype == AEREQ and (m.mprev_log_index < 0 or m.mcommit_index < 0
                              or (m.mprev_log_index == 0 and m.mprev_log_term != 0)))
        or (m.mtype == AERESP and m.mmatch_index < 0))
    what = ("its match index is below 0" if m.mtype == AERESP else
            "its previous or commit index is below 0" if min(m.mprev_log_index,
                                                            m.mcommit_index) < 0 else
            f"previous index 0 with previous term {m.mprev_log_term}")
    return Witness(f"a message out of its type: {what}",
                   [(_sent(m, f"{m} sent"),)], {"message": m})


@fallible
def leader_without_quorum(spec: Raft, s: RaftState) -> Witness:
    """leader_has_quorum: a leader whose counted votes are no quorum."""
    c = next(c for c in spec.servers
             if s.state[c] == LEADER and not spec.is_quorum(s.votes_granted[c]))
    term, votes = s.current_term[c], s.votes_granted[c]
    names = ", ".join(_s(spec, j) for j in sorted(votes)) or "nobody"
    counted = Fact(f"its counted votes {{{names}}}", lambda st: st.votes_granted[c] == votes)
    return Witness(f"{_s(spec, c)}, leader of term {term}, holds the votes of "
                   f"{len(votes)} of {spec.n} servers, no quorum",
                   [(f"{_s(spec, c)}: ", _leader(spec, c, term, f"leader of term {term}"),
                     ", ", counted)],
                   {"leader": c, "term": term, "votes": votes})


@fallible
def vote_not_voted(spec: Raft, s: RaftState) -> Witness:
    """vgrant_voted: a vote a candidate or leader counts that is not its voter's vote."""
    c, j = next((c, j) for c in spec.servers if s.state[c] != FOLLOWER
                for j in sorted(s.votes_granted[c]) if _not_voted_for(s, j, c, s.current_term[c]))
    t = s.current_term[c]
    return Witness(f"{_s(spec, c)} ({s.state[c].lower()} of term {t}) counts the vote of "
                   f"{_s(spec, j)}, which is not {_s(spec, j)}'s vote in term {t}",
                   [(f"term {t}: ", _counted(spec, c, j, t), "; ", _voter_now(spec, s, j))],
                   {"candidate": c, "voter": j, "term": t, "voter_term": s.current_term[j],
                    "voted_for": s.voted_for[j]})


def _granted(s: RaftState) -> list[tuple[int, int, int]]:
    return sorted(granted(s))


@fallible
def vote_resp_not_voted(spec: Raft, s: RaftState) -> Witness:
    """vote_resp_voted: a granted vote response in flight that is not its voter's vote."""
    j, c, t = next(g for g in _granted(s) if _not_voted_for(s, *g))
    return Witness(f"a vote of {_s(spec, j)} for {_s(spec, c)} in term {t} is in flight, "
                   f"but {_s(spec, j)} no longer holds it",
                   [(_grant_fact(spec, j, c, t, s), "; then ", _voter_now(spec, s, j))],
                   {"voter": j, "candidate": c, "term": t, "voter_term": s.current_term[j],
                    "voted_for": s.voted_for[j]})


@fallible
def vote_resp_twice(spec: Raft, s: RaftState) -> Witness:
    """vote_resp_unique: one voter's granted responses of one term to two candidates."""
    to: dict[tuple[int, int], list[int]] = {}
    for j, c, t in _granted(s):
        to.setdefault((j, t), []).append(c)
    (j, t), (c1, c2, *_) = min((k, cs) for k, cs in to.items() if len(cs) > 1)
    return Witness(f"{_s(spec, j)} granted its vote in term {t} to both {_s(spec, c1)} and "
                   f"{_s(spec, c2)}",
                   [(f"term {t}: ", _grant_fact(spec, j, c1, t, s), ", ",
                     _grant_fact(spec, j, c2, t, s))],
                   {"voter": j, "term": t, "candidates": (c1, c2)})


@fallible
def vote_resp_tallied_elsewhere(spec: Raft, s: RaftState) -> Witness:
    """vote_resp_tallied: a granted response to c in flight whose voter another candidate
    or leader of the term already counts."""
    j, c, t, c2 = next((j, c, t, c2) for j, c, t in _granted(s) for c2 in spec.servers
                       if c2 != c and s.state[c2] != FOLLOWER and s.current_term[c2] == t
                       and j in s.votes_granted[c2])
    return Witness(f"{_s(spec, j)}'s vote of term {t} is both in flight to {_s(spec, c)} and "
                   f"counted by {_s(spec, c2)}",
                   [(f"term {t}: ", _grant_fact(spec, j, c, t, s), ", ",
                     _counted(spec, c2, j, t))],
                   {"voter": j, "term": t, "candidate": c, "counted_by": c2})


@fallible
def vote_counted_twice(spec: Raft, s: RaftState) -> Witness:
    """vgrant_disjoint: two candidates or leaders of one term that count a common voter."""
    active = [c for c in spec.servers if s.state[c] != FOLLOWER]
    a, b = next((a, b) for k, a in enumerate(active) for b in active[k + 1:]
                if s.current_term[a] == s.current_term[b]
                and s.votes_granted[a] & s.votes_granted[b])
    t, common = s.current_term[a], s.votes_granted[a] & s.votes_granted[b]
    j = min(common)
    return Witness(f"{_s(spec, a)} and {_s(spec, b)}, both of term {t}, count the vote of "
                   f"{_s(spec, j)}",
                   [(f"term {t}: ", _counted(spec, a, j, t), ", ", _counted(spec, b, j, t))],
                   {"term": t, "candidates": (a, b), "voters": common})


@fallible
def unbound_election(spec: Raft, s: RaftState) -> Witness:
    """elected_quorum: an election whose leader keeps no quorum of voters bound to it,
    with why each voter of the election is no longer bound."""
    granted = set(_granted(s))

    def why_unbound(j: int, c: int, t: int) -> tuple[str, Fact] | None:
        if _not_voted_for(s, j, c, t):
            return "voted", _voter_now(spec, s, j)
        for c2 in spec.servers:
            if c2 != c and (j, c2, t) in granted:
                return "granted", _grant_fact(spec, j, c2, t, s)
            if (c2 != c and s.state[c2] != FOLLOWER and s.current_term[c2] == t
                    and j in s.votes_granted[c2]):
                return "counted", _counted(spec, c2, j, t)
        return None

    for e in sorted(s.elections):
        reasons = {j: why_unbound(j, e.eleader, e.eterm) for j in spec.servers}
        bound = frozenset(j for j, r in reasons.items() if r is None)
        if not spec.is_quorum(bound):
            break
    else:
        raise ValueError("every election keeps a quorum")
    lost = [(j, r) for j, r in sorted(reasons.items()) if r is not None and j in e.evotes]
    line: list[str | Fact] = [f"term {e.eterm}: ", *_election(spec, e), "; no longer bound: "]
    for k, (_j, (_kind, fact)) in enumerate(lost):
        line += ["; "] if k else []
        line.append(fact)
    return Witness(f"{_s(spec, e.eleader)}, elected in term {e.eterm}, keeps {len(bound)} "
                   f"bound voter{'' if len(bound) == 1 else 's'}, no quorum",
                   [tuple(line)],
                   {"term": e.eterm, "leader": e.eleader, "bound": bound,
                    "unbound": {j: r[0] for j, r in reasons.items() if r is not None}})


# -- the log lemmas --------------------------------------------------------------------


def _won(spec: Raft, s: RaftState, c: int, t: int) -> Fact:
    e = next(e for e in sorted(s.elections) if (e.eterm, e.eleader) == (t, c))
    return Fact(f"{_s(spec, c)} elected in term {t}", lambda st: e in st.elections)


@fallible
def leader_not_elected(spec: Raft, s: RaftState) -> Witness:
    """leader_elected: a leader of a term it was never elected in (with its last election)."""
    won = {(e.eterm, e.eleader) for e in s.elections}
    c = next(c for c in spec.servers if s.state[c] == LEADER
             and (s.current_term[c], c) not in won)
    t = s.current_term[c]
    line: list[str | Fact] = [_leader(spec, c, t), f", never elected in term {t}"]
    earlier = max((e.eterm for e in s.elections if e.eleader == c), default=None)
    if earlier is not None:
        line += ["; its last election: ", _won(spec, s, c, earlier)]
    return Witness(f"{_s(spec, c)} is leader of term {t} but was never elected in it",
                   [tuple(line)], {"leader": c, "term": t, "last_elected": earlier})


@fallible
def election_ahead_of_term(spec: Raft, s: RaftState) -> Witness:
    """elected_term_le: a server elected in a term above its current one."""
    e = next(e for e in sorted(s.elections) if e.eterm > s.current_term[e.eleader])
    c, now = e.eleader, s.current_term[e.eleader]
    return Witness(f"{_s(spec, c)} was elected in term {e.eterm} but is in term {now}",
                   [(_won(spec, s, c, e.eterm), "; then ",
                     _variable(spec, "current_term", c, now))],
                   {"leader": c, "term": e.eterm, "current_term": now})


@fallible
def candidate_elected(spec: Raft, s: RaftState) -> Witness:
    """candidate_not_elected: a candidate of a term it has already been elected in."""
    won = {(e.eterm, e.eleader) for e in s.elections}
    c = next(c for c in spec.servers if s.state[c] == CANDIDATE
             and (s.current_term[c], c) in won)
    t = s.current_term[c]
    again = Fact(f"candidate in term {t} again",
                 lambda st: st.state[c] == CANDIDATE and st.current_term[c] == t)
    return Witness(f"{_s(spec, c)} is a candidate of term {t}, in which it was already "
                   "elected", [(_won(spec, s, c, t), "; then ", again)],
                   {"server": c, "term": t})


@fallible
def aereq_log_mismatch(spec: Raft, s: RaftState) -> Witness:
    """aereq_log_match: an entry in flight and a log holding an entry of its term at its
    index that disagree on the value or on the previous entry's term."""
    p, pt, et, ev, i = next((p, pt, et, ev, i) for p, pt, et, ev in _entries_in_flight(s)
                            for i, lg in enumerate(s.log)
                            if len(lg) >= p + 1 and lg[p].term == et
                            and (lg[p].value != ev or _term_at(lg, p) != pt))
    lg, k = s.log[i], p + 1
    m = _ae_msgs(s, p, pt, et, ev)[0]
    line: list[str | Fact] = [f"index {k}: ", _ae_fact(spec, m), "; ",
                              _holds_entry(spec, i, k, lg[p], f"{_s(spec, i)} holds {lg[p]}")]
    if lg[p].value == ev:
        line += [" after ", _holds_entry(spec, i, p, lg[p - 1], f"{lg[p - 1]}")] if p else []
    return Witness(f"{_s(spec, m.msource)} sends {m.mentries[0]} at index {k} (previous "
                   f"term {pt}) where {_s(spec, i)} holds {lg[p]} (previous term "
                   f"{_term_at(lg, p)})", [tuple(line)],
                   {"message": m, "server": i, "index": k, "entry": lg[p],
                    "prev_term": pt, "log_prev_term": _term_at(lg, p)})


@fallible
def aereq_mismatch(spec: Raft, s: RaftState) -> Witness:
    """aereq_match: two entries in flight at one index, of one term, that disagree on the
    value or the previous term."""
    by: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for p, pt, et, ev in _entries_in_flight(s):
        by.setdefault((p, et), []).append((ev, pt))
    (p, et), ((v1, pt1), (v2, pt2), *_) = min(
        (key, xs) for key, xs in by.items() if len(xs) > 1)
    m1, m2 = _ae_msgs(s, p, pt1, et, v1)[0], _ae_msgs(s, p, pt2, et, v2)[0]
    return Witness(f"two entries of term {et} in flight at index {p + 1} disagree: "
                   f"{m1.mentries[0]} (previous term {pt1}) and {m2.mentries[0]} "
                   f"(previous term {pt2})",
                   [(f"index {p + 1}: ", _ae_fact(spec, m1), ", ", _ae_fact(spec, m2))],
                   {"index": p + 1, "term": et, "messages": (m1, m2)})


def _leader_missing(spec: Raft, s: RaftState, i: int, k: int) -> Line:
    t = s.current_term[i]
    return _missing(spec, i, s.log[i], k, (_leader(spec, i, t),))


@fallible
def leader_lacks_log_entry(spec: Raft, s: RaftState) -> Witness:
    """leader_log_entries: an entry of a leader's term, in some log, the leader lacks."""
    i, j, k, e = next((i, j, k, e) for i in spec.servers if s.state[i] == LEADER
                      for j, lg in enumerate(s.log) for k, e in enumerate(lg, 1)
                      if e.term == s.current_term[i]
                      and (len(s.log[i]) < k or s.log[i][k - 1] != e))
    t = s.current_term[i]
    return Witness(f"{_s(spec, j)} holds {e} at index {k}, of term {t}, which its leader "
                   f"{_s(spec, i)} lacks",
                   [(f"entry {e} at index {k}: ",
                     _holds_entry(spec, j, k, e, f"{_s(spec, j)} holds it"), "; ",
                     *_leader_missing(spec, s, i, k))],
                   {"leader": i, "term": t, "server": j, "index": k, "entry": e})


@fallible
def leader_lacks_msg_entry(spec: Raft, s: RaftState) -> Witness:
    """leader_msg_entries: an entry of a leader's term in flight that the leader lacks."""
    i, (p, pt, et, ev) = next(
        (i, x) for i in spec.servers if s.state[i] == LEADER for x in _entries_in_flight(s)
        if x[2] == s.current_term[i] and (len(s.log[i]) < x[0] + 1 or (
            s.log[i][x[0]].term, s.log[i][x[0]].value) != (x[2], x[3])))
    m = _ae_msgs(s, p, pt, et, ev)[0]
    return Witness(f"{m.mentries[0]} at index {p + 1}, of term {et}, is in flight but its "
                   f"leader {_s(spec, i)} lacks it",
                   [(f"entry {m.mentries[0]} at index {p + 1}: ", _ae_fact(spec, m), "; ",
                     *_leader_missing(spec, s, i, p + 1))],
                   {"leader": i, "term": et, "message": m, "index": p + 1,
                    "entry": m.mentries[0]})


@fallible
def entry_of_no_election(spec: Raft, s: RaftState) -> Witness:
    """entries_elected: an entry, in a log or in flight, of a term nobody was elected in."""
    terms = {e.eterm for e in s.elections}
    held = [(i, k, e) for i, lg in enumerate(s.log) for k, e in enumerate(lg, 1)
            if e.term not in terms]
    elected = ", ".join(str(t) for t in sorted(terms)) or "none"
    if held:
        i, k, e = held[0]
        return Witness(f"{_s(spec, i)} holds {e} at index {k}, but nobody was elected in "
                       f"term {e.term}",
                       [(_holds_entry(spec, i, k, e, f"{_s(spec, i)} holds {e} at index {k}"),
                         f"; terms with an election: {elected}")],
                       {"term": e.term, "server": i, "index": k, "entry": e})
    p, pt, et, ev = next(x for x in _entries_in_flight(s) if x[2] not in terms)
    m = _ae_msgs(s, p, pt, et, ev)[0]
    return Witness(f"{m.mentries[0]} is in flight at index {p + 1}, but nobody was elected "
                   f"in term {et}", [(_ae_fact(spec, m), f"; terms with an election: {elected}")],
                   {"term": et, "message": m, "index": p + 1, "entry": m.mentries[0]})

