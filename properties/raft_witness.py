"""Why a Raft safety property fails: the witnesses of properties/raft.py.

Each builder runs only once its property has found the state bad (never on the
checker's hot path), recomputes the offending elections, servers, entries, and names
them as :class:`~agree.spec.Fact` s whose steps traces/explain.py finds: an election
is established by BecomeLeader (it enters the history ``elections``), a counted vote by
the response that put the voter in ``votes_granted``, an entry by the append that put
it at its index, a commit by the step that moved ``commit_index`` over it.
"""

from __future__ import annotations

from collections.abc import Callable

from agree.models.raft import Raft
from agree.models.raft_types import LEADER, Committed, Election, Entry, Log, RaftState
from agree.spec import Fact, Witness
from agree.spec.witness import Line, fallible

__all__ = ["commit_past_log", "committed_prefixes_differ", "leader_missing_commit",
           "leader_missing_prefix", "leader_rewrote", "logs_differ", "two_commits",
           "two_elections", "two_leaders"]


def _s(spec: Raft, i: int) -> str:
    return spec.show("servers", i)


def _leader(spec: Raft, i: int, term: int, text: str | None = None) -> Fact:
    return Fact(text or f"{_s(spec, i)} leader of term {term}",
                lambda st: st.state[i] == LEADER and st.current_term[i] == term)


def _holds_entry(spec: Raft, i: int, index: int, entry: Entry, text: str | None = None) -> Fact:
    """Server i holds ``entry`` at ``index`` (established by the append that put it there)."""
    return Fact(text or f"{_s(spec, i)} appended {entry} at index {index}",
                lambda st: len(st.log[i]) >= index and st.log[i][index - 1] == entry)


def _committed_at(spec: Raft, i: int, index: int, entry: Entry, text: str | None = None,
                  ) -> Fact:
    """Server i counts ``entry`` at ``index`` as committed."""
    return Fact(text or f"{_s(spec, i)} committed it",
                lambda st: st.commit_index[i] >= index and len(st.log[i]) >= index
                and st.log[i][index - 1] == entry)


def _in_votes_granted(i: int, j: int) -> Callable[[RaftState], bool]:
    return lambda st: j in st.votes_granted[i]


def _in_committed(c: Committed) -> Callable[[RaftState], bool]:
    return lambda st: c in st.committed


def _election(spec: Raft, e: Election) -> Line:
    """``s1 elected (step 9) with the votes of s1 (step 4), s2 (step 6)``."""
    won = Fact(f"{_s(spec, e.eleader)} elected", lambda st: e in st.elections)
    parts: list[str | Fact] = [won, " with the votes of "]
    for k, j in enumerate(sorted(e.evotes)):
        parts += [", "] if k else []
        parts.append(Fact(_s(spec, j), _in_votes_granted(e.eleader, j), before=won))
    return tuple(parts)


@fallible
def two_elections(spec: Raft, s: RaftState) -> Witness:
    """Election safety: two elections of one term, with their leaders and voters."""
    by_term: dict[int, list[Election]] = {}
    for e in sorted(s.elections):
        by_term.setdefault(e.eterm, []).append(e)
    term, es = min((t, es) for t, es in by_term.items() if len({e.eleader for e in es}) > 1)
    first = es[0]
    second = next(e for e in es if e.eleader != first.eleader)
    return Witness(
        f"two leaders elected in term {term}, {_s(spec, first.eleader)} and "
        f"{_s(spec, second.eleader)}",
        [(f"term {term}: ", *_election(spec, first)), (f"term {term}: ", *_election(spec, second))],
        {"term": term, "elections": ((first.eleader, first.evotes),
                                     (second.eleader, second.evotes))})


@fallible
def two_leaders(spec: Raft, s: RaftState) -> Witness:
    """One leader per term (the state form): two current leaders of one term."""
    leaders: dict[int, list[int]] = {}
    for i in spec.servers:
        if s.state[i] == LEADER:
            leaders.setdefault(s.current_term[i], []).append(i)
    term, (a, b, *_) = min((t, ls) for t, ls in leaders.items() if len(ls) > 1)
    return Witness(f"{_s(spec, a)} and {_s(spec, b)} are both leaders of term {term}",
                   [(f"term {term}: ", _leader(spec, a, term, f"{_s(spec, a)} leader"), ", ",
                     _leader(spec, b, term, f"{_s(spec, b)} leader"))],
                   {"term": term, "leaders": (a, b)})


def _first_difference(la: Log, lb: Log) -> int:
    """The first index (1-based) at which two logs differ (one may end there)."""
    return next(k for k in range(1, max(len(la), len(lb)) + 1)
                 if k > len(la) or k > len(lb) or la[k - 1] != lb[k - 1])


def _entry_at(lg: Log, k: int) -> str:
    return str(lg[k - 1]) if k <= len(lg) else "nothing"


@fallible
def logs_differ(spec: Raft, s: RaftState) -> Witness:
    """Log matching: the index where two logs hold an entry of one term, the two servers,
    and the first entry before it where they differ."""
    for a in spec.servers:
        for b in range(a + 1, len(s.log)):
            la, lb = s.log[a], s.log[b]
            n = next((n for n in range(min(len(la), len(lb)), 0, -1)
                      if la[n - 1].term == lb[n - 1].term), 0)
            if n and la[:n] != lb[:n]:
                break
        else:
            continue
        break
    k = _first_difference(la[:n], lb[:n])
    sa, sb, term = _s(spec, a), _s(spec, b), la[n - 1].term
    def pair(k: int) -> tuple[Fact, str, Fact]:
        return (_holds_entry(spec, a, k, la[k - 1], f"{sa} has {la[k - 1]}"), ", ",
                _holds_entry(spec, b, k, lb[k - 1], f"{sb} has {lb[k - 1]}"))

    lines: list[Line] = [(f"index {n}, term {term}: ", *pair(n))]
    if k < n:
        lines.append((f"index {k} differs: ", *pair(k)))
    else:
        lines = [(f"index {n}, term {term}, different entries: ", *pair(n))]
    reason = (f"{sa} and {sb} both hold an entry of term {term} at index {n} but differ at "
              f"index {k}" if k < n else
              f"{sa} and {sb} hold different entries of term {term} at index {n}")
    return Witness(reason, lines,
                   {"index": n, "servers": (a, b), "differs_at": k,
                    "entries": (la[k - 1], lb[k - 1])})


def _missing(spec: Raft, i: int, lg: Log, k: int, leader: Line,
             ) -> Line:
    """``s2 leader of term 3 (step 20) without it`` and what it holds there instead (or
    where its log ends: the step that cut it there, or "initially")."""
    if k <= len(lg):
        other = _holds_entry(spec, i, k, lg[k - 1], f"holding {lg[k - 1]} there")
    else:
        n = len(lg)
        other = Fact(f"its log ending at index {n}", lambda st: len(st.log[i]) == n)
    return (*leader, " without it, ", other)


def _leader_of(spec: Raft, s: RaftState, i: int, term: int) -> Line:
    """Leader i of ``term``: its election with the votes, when the history recorded it."""
    e = next((e for e in sorted(s.elections) if e.eterm == term and e.eleader == i), None)
    if e is None:
        return (_leader(spec, i, term),)
    return (f"term {term}: ", *_election(spec, e))


@fallible
def leader_missing_commit(spec: Raft, s: RaftState, c: Committed) -> Witness:
    """Leader completeness (history form): a committed entry and a later leader (elected
    or current) whose log lacks it."""
    k, entry = c.cindex, c.centry
    later: list[tuple[int, int, Log, Line]] = [
        (e.eterm, e.eleader, e.elog, (f"term {e.eterm}: ", *_election(spec, e)))
        for e in sorted(s.elections)]
    later += [(s.current_term[i], i, s.log[i], _leader_of(spec, s, i, s.current_term[i]))
              for i in spec.servers if s.state[i] == LEADER]
    term, i, lg, leader = next(x for x in later if x[0] > c.cterm and not (
        len(x[2]) >= k and x[2][k - 1] == entry))
    committed = Fact(f"committed in term {c.cterm}", lambda st: c in st.committed)
    return Witness(f"entry {entry} at index {k}, committed in term {c.cterm}, is missing "
                   f"from the log of {_s(spec, i)}, leader of term {term}",
                   [(f"entry {entry} at index {k}: ", committed, "; ",
                     *_missing(spec, i, lg, k, leader))],
                   {"index": k, "entry": entry, "committed_term": c.cterm, "leader": i,
                    "term": term})


@fallible
def leader_missing_prefix(spec: Raft, s: RaftState, i: int, j: int) -> Witness:
    """Leader completeness (state form): the first entry server j counts as committed
    that leader i, of a term no lower than j's, does not hold."""
    done = s.log[j][:s.commit_index[j]]
    k = _first_difference(done, s.log[i][:len(done)])
    entry, term = done[k - 1], s.current_term[i]
    return Witness(f"entry {entry} at index {k}, committed by {_s(spec, j)}, is missing from "
                   f"the log of {_s(spec, i)}, leader of term {term}",
                   [(f"entry {entry} at index {k}: ", _committed_at(spec, j, k, entry), "; ",
                     *_missing(spec, i, s.log[i], k, _leader_of(spec, s, i, term)))],
                   {"index": k, "entry": entry, "committed_by": j, "leader": i, "term": term})


@fallible
def two_commits(spec: Raft, s: RaftState) -> Witness:
    """State machine safety (history form): two different entries committed at one index."""
    at: dict[int, list[Committed]] = {}
    for c in sorted(s.committed):
        at.setdefault(c.cindex, []).append(c)
    k, cs = min((k, cs) for k, cs in at.items() if len({c.centry for c in cs}) > 1)
    c1 = cs[0]
    c2 = next(c for c in cs if c.centry != c1.centry)
    facts = [Fact(f"{c.centry} committed in term {c.cterm}", _in_committed(c)) for c in (c1, c2)]
    return Witness(f"two entries committed at index {k}, {c1.centry} and {c2.centry}",
                   [(f"index {k}: ", facts[0], ", ", facts[1])],
                   {"index": k, "entries": (c1.centry, c2.centry)})


@fallible
def committed_prefixes_differ(spec: Raft, s: RaftState, a: int, b: int) -> Witness:
    """State machine safety (state form): servers a and b count different entries as
    committed at one index."""
    pa, pb = s.log[a][:s.commit_index[a]], s.log[b][:s.commit_index[b]]
    k = _first_difference(pa, pb)
    ea, eb = pa[k - 1], pb[k - 1]
    fa, fb = (_committed_at(spec, x, k, e, f"{_s(spec, x)} committed {e}")
              for x, e in ((a, ea), (b, eb)))
    return Witness(f"{_s(spec, a)} and {_s(spec, b)} committed different entries at index {k}",
                   [(f"index {k}: ", fa, ", ", fb)],
                   {"index": k, "servers": (a, b), "entries": (ea, eb)})


@fallible
def commit_past_log(spec: Raft, s: RaftState) -> Witness:
    """commitIndex in log: a server whose commit index passes the end of its log."""
    i = next(i for i in spec.servers if s.commit_index[i] > len(s.log[i]))
    c, lg = s.commit_index[i], s.log[i]
    moved = Fact(f"its commit index set to {c}", lambda st: st.commit_index[i] == c)
    n = len(lg)
    length = Fact(f"its log holding {n} entr{'y' if n == 1 else 'ies'}",
                  lambda st: len(st.log[i]) == n)
    return Witness(f"{_s(spec, i)} counts {c} entries as committed but holds {len(lg)}",
                   [(f"{_s(spec, i)}: ", moved, ", ", length)],
                   {"server": i, "commit_index": c, "log_length": len(lg)})


@fallible
def leader_rewrote(spec: Raft, s: RaftState, t: RaftState, i: int) -> Witness:
    """Leader append-only: the leader whose log lost or changed an entry in this step."""
    before, after, term = s.log[i], t.log[i], t.current_term[i]
    k = _first_difference(before, after[:len(before)])
    was = _holds_entry(spec, i, k, before[k - 1], f"it held {before[k - 1]} at index {k}")
    if k <= len(after):
        now = _holds_entry(spec, i, k, after[k - 1], f"then {after[k - 1]} there")
    else:
        n = len(after)
        now = Fact(f"then its log cut to index {n}", lambda st: len(st.log[i]) == n)
    return Witness(f"{_s(spec, i)}, leader of term {term}, replaced its entry {before[k - 1]} "
                   f"at index {k} with {_entry_at(after, k)}",
                   [(f"{_s(spec, i)}: ", _leader(spec, i, term, f"leader of term {term}"), ", ",
                     was, ", ", now)],
                   {"server": i, "index": k, "before": before[k - 1],
                    "after": after[k - 1] if k <= len(after) else None})
