"""The protocols `agree` knows, each one bundle (protocols/bundle.py).

A zoo variant is one :class:`ZooVariant` here plus its overrides, which stay next to
what they override: the model in ``models/zoo/``, the Z3 encoding in
``symbolic/<protocol>/zoo.py``, the BMC encoding in ``symbolic/<protocol>/bmc_zoo.py``
(Paxos: ``symbolic/paxos/bmc.py``), the seeded implementation bug in ``conformance/``.
tests/test_protocols.py imports every reference, so a typo fails the suite.
"""

from __future__ import annotations

from agree.protocols.bundle import Params, Protocol, ZooVariant

__all__ = ["LISTING_ORDER", "PROTOCOLS"]

_ZR, _ZP = "agree.models.zoo.raft:", "agree.models.zoo.paxos:"
_RZ3, _RBMC = "agree.symbolic.raft.zoo:", "agree.symbolic.raft.bmc_zoo:"
_PZ3, _PBMC = "agree.symbolic.paxos.zoo:", "agree.symbolic.paxos.bmc:"
_RBUG, _PBUG = "agree.conformance.raft_bugs:", "agree.conformance.paxos_machine:"

_RAFT_2_TERM_3: Params = (("servers", 2), ("max_term", 3), ("max_log", 0), ("max_messages", 1),
                          ("max_restarts", 0))
_RAFT_3_ONE_RESTART: Params = (("servers", 3), ("max_term", 2), ("max_log", 0),
                               ("max_messages", 1), ("max_restarts", 1))
_PAXOS_1_BALLOT_1: Params = (("acceptors", 1), ("values", 2), ("max_ballot", 1))
_PAXOS_3_BALLOT_2: Params = (("acceptors", 3), ("values", 2), ("max_ballot", 2))
#: Raft's small configuration (ZooVariant.small) for the variants whose defaults are large.
_RAFT_2_SMALL: Params = (("servers", 2), ("max_term", 2), ("max_log", 1), ("max_messages", 1))

_PAXOS_DRIVER = "agree.symbolic.paxos.driver:PAXOS"

PAXOS = Protocol(
    "paxos", "agree.models.paxos:Paxos", "agree.properties.paxos:PROPERTIES",
    "Lamport's Paxos.tla: single-decree Paxos over a message set",
    symbolic=_PAXOS_DRIVER, prove="agree.symbolic.paxos.invariant:PaxosZ3",
    bmc=_PBMC + "PaxosBmc", conformance=_PBUG + "paxos_machine",
    impl_replay="agree.conformance.paxos_replay:replay_paxos",
    impl_replay_params=("acceptors", "values", "max_ballot"),
    impl_bugs=(_PBUG + "PROMISE_FORGETS_VOTE",),
    zoo=(
        # defaults = the smallest failing configuration benchmarks/zoo_search.py found.
        # explored_in, small, found_with_symmetry, bmc_from: see ZooVariant.
        ZooVariant("paxos-accept-below-promise", _ZP + "AcceptBelowPromisePaxos",
                   "Paxos whose acceptor votes below its promise", "agreement",
                   "Paxos Made Simple §2.2", _PAXOS_1_BALLOT_1,
                   prove=_PZ3 + "AcceptBelowPromiseZ3", bmc=_PBMC + "AcceptBelowPromiseBmc",
                   impl_bug=_PBUG + "ACCEPT_BELOW_PROMISE", explored_in="seconds"),
        ZooVariant("paxos-amnesia", _ZP + "AmnesiaPaxos",
                   "Paxos whose acceptor forgets its promise and vote on restart", "agreement",
                   "Paxos Made Simple §2.2; Paxos Made Live", _PAXOS_1_BALLOT_1,
                   prove=_PZ3 + "AmnesiaZ3", bmc=_PBMC + "AmnesiaBmc",
                   impl_bug=_PBUG + "ACCEPTOR_NOT_PERSISTED", explored_in="seconds"),
        ZooVariant("paxos-wrong-value", _ZP + "WrongValuePaxos",
                   "Paxos whose proposer may take a value other than the highest-ballot "
                   "vote's", "agreement", "Paxos Made Simple §2.2", _PAXOS_3_BALLOT_2,
                   prove=_PZ3 + "WrongValueZ3", bmc=_PBMC + "WrongValueBmc",
                   impl_bug=_PBUG + "IGNORE_REPORTED_VOTES", explored_in="minutes"),
        ZooVariant("paxos-2b-keeps-promise", _ZP + "TwoBKeepsPromisePaxos",
                   "Paxos whose 2b does not raise maxBal", "agreement",
                   "Paxos.tla Phase2b; Brooker 2021 via apache/cassandra #1327",
                   _PAXOS_3_BALLOT_2,
                   prove=_PZ3 + "TwoBKeepsPromiseZ3", bmc=_PBMC + "TwoBKeepsPromiseBmc",
                   impl_bug=_PBUG + "VOTE_KEEPS_PROMISE", explored_in="minutes"),
        ZooVariant("paxos-pid-timestamp", "agree.models.paxos_article:PidTimestampPaxos",
                   "Paxos.tla with the article's ids: two proposers may share a ballot",
                   "agreement", "the article: unique id = process id + Unix timestamp",
                   prove=_PZ3 + "PidTimestampZ3", bmc=_PBMC + "PidTimestampBmc",
                   replays=False, group="article"),  # impl/'s ballots are unique
    ))

ARTICLE = Protocol(
    "paxos-article", "agree.models.paxos_article:ArticlePaxos",
    "agree.properties.paxos_article:PROPERTIES",
    "Paxos exactly as the article describes it (unsafe)", group="article",
    breaks="agreement", source="the article: Promise() carries no accepted value",
    symbolic="agree.symbolic.paxos.driver:ARTICLE",
    prove="agree.symbolic.paxos.article:ArticleZ3",
    bmc="agree.symbolic.paxos.article_bmc:ArticleBmc")

LIVENESS = Protocol(
    "paxos-liveness", "agree.models.paxos_liveness:LivenessPaxos",
    "agree.models.paxos_liveness:PROPERTIES",
    "Paxos with explicit proposers: liveness (dueling proposers livelock)",
    symbolic=_PAXOS_DRIVER)  # no encoding: prove and bmc say so, and take Paxos' flags

RAFT = Protocol(
    "raft", "agree.models.raft:Raft", "agree.properties.raft:PROPERTIES",
    "Ongaro's raft.tla: leader election and log replication, lossy network",
    symbolic="agree.symbolic.raft.driver:RAFT", prove="agree.symbolic.raft.encoding:RaftZ3",
    bmc="agree.symbolic.raft.bmc:RaftBmc",
    conformance="agree.conformance.raft_machine:raft_machine",
    impl_replay="agree.conformance.raft_replay:replay_raft",
    impl_replay_params=("servers", "values"),
    impl_bugs=(_RBUG + "ACCEPT_STALE_TERM", _RBUG + "HINT_AS_MATCH",
               _RBUG + "SNAPSHOT_DROPS_AN_ENTRY"),
    zoo=(
        ZooVariant("raft-commit-old-term", _ZR + "CommitOldTermRaft",
                   "Raft whose leader commits an earlier term's entry by counting replicas",
                   "leader_completeness", "Raft paper §5.4.2, figure 8; LogCabin #44",
                   (("servers", 3), ("max_term", 5), ("max_log", 1), ("max_messages", 1),
                    ("max_restarts", 0)),
                   prove=_RZ3 + "CommitOldTermZ3", bmc=_RBMC + "CommitOldTermBmc",
                   impl_bug=_RBUG + "COMMIT_OLD_TERM", found_with_symmetry=True,
                   explored_in="too large", small=_RAFT_2_SMALL, bmc_from=31),
        ZooVariant("raft-forget-vote", _ZR + "ForgetVoteRaft",
                   "Raft whose servers forget their vote on restart", "election_safety",
                   "Raft paper figure 2 (persistent state); raft.tla PR #5",
                   _RAFT_3_ONE_RESTART,
                   prove=_RZ3 + "ForgetVoteZ3", bmc=_RBMC + "ForgetVoteBmc",
                   impl_bug=_RBUG + "VOTE_NOT_PERSISTED", explored_in="minutes",
                   small=_RAFT_2_SMALL),
        ZooVariant("raft-forget-term", _ZR + "ForgetTermRaft",
                   "Raft whose servers restart in term 1", "election_safety",
                   "Raft paper figure 2 (persistent state); raft.tla PR #5",
                   _RAFT_3_ONE_RESTART,
                   prove=_RZ3 + "ForgetTermZ3", bmc=_RBMC + "ForgetTermBmc",
                   impl_bug=_RBUG + "TERM_NOT_PERSISTED", explored_in="minutes",
                   # small: it fails there too, restarts unbounded (20 steps, 7,310 states)
                   small=(*_RAFT_2_SMALL[:2], ("max_log", 0), ("max_messages", 1),
                          ("max_restarts", -1))),
        ZooVariant("raft-vote-any-log", _ZR + "VoteAnyLogRaft",
                   "Raft that grants votes without the log up-to-date check",
                   "leader_completeness", "Raft paper §5.4.1",
                   (("servers", 3), ("max_term", 3), ("max_log", 1), ("max_messages", 1),
                    ("max_restarts", 0)),
                   prove=_RZ3 + "VoteAnyLogZ3", bmc=_RBMC + "VoteAnyLogBmc",
                   impl_bug=_RBUG + "VOTE_ANY_LOG", found_with_symmetry=True,
                   explored_in="too large", small=_RAFT_2_SMALL, bmc_from=12),
        ZooVariant("raft-leader-ignores-term", _ZR + "LeaderIgnoresTermRaft",
                   "Raft whose leader adopts a higher term but stays leader",
                   "one_leader_per_term", "Raft paper figure 2, §5.1", _RAFT_2_TERM_3,
                   prove=_RZ3 + "LeaderIgnoresTermZ3", bmc=_RBMC + "LeaderIgnoresTermBmc",
                   impl_bug=_RBUG + "LEADER_NO_STEP_DOWN", explored_in="seconds"),
        ZooVariant("raft-stale-votes", _ZR + "StaleVotesRaft",
                   "Raft whose candidate counts votes granted in an older term",
                   "election_safety", "Raft paper §5.2; akka-raft #45", _RAFT_2_TERM_3,
                   prove=_RZ3 + "StaleVotesZ3", bmc=_RBMC + "StaleVotesBmc",
                   impl_bug=_RBUG + "KEEP_OLD_VOTES", explored_in="seconds"),
        ZooVariant("raft-truncate-on-stale-append", _ZR + "TruncateOnStaleAppendRaft",
                   "Raft whose follower truncates its log on a stale AppendEntries",
                   "leader_completeness", "Raft paper figure 2, AppendEntries step 3",
                   (("servers", 3), ("max_term", 3), ("max_log", 1), ("max_messages", 2),
                    ("max_restarts", 0)),
                   prove=_RZ3 + "TruncateOnStaleAppendZ3",
                   bmc=_RBMC + "TruncateOnStaleAppendBmc", impl_bug=_RBUG + "TRUNCATE_ON_MATCH",
                   found_with_symmetry=True, explored_in="too large", small=_RAFT_2_SMALL,
                   bmc_from=14),
        ZooVariant("raft-commit-past-entries", _ZR + "CommitPastEntriesRaft",
                   "Raft whose follower's commitIndex is not capped at its last new entry",
                   "commit_index_in_log", "Raft paper figure 2, AppendEntries step 5",
                   (("servers", 3), ("max_term", 2), ("max_log", 2), ("max_messages", 1),
                    ("max_restarts", 0)),
                   prove=_RZ3 + "CommitPastEntriesZ3", bmc=_RBMC + "CommitPastEntriesBmc",
                   explored_in="too large", small=_RAFT_2_SMALL),
    ))

RAFT_LIVENESS = Protocol(
    "raft-liveness", "agree.models.raft_liveness:RaftLiveness",
    "agree.models.raft_liveness:PROPERTIES",
    "Raft's elections with etcd's PreVote/CheckQuorum options: liveness under a partial "
    "partition")

RAFT_PREVOTE = Protocol(
    "raft-prevote", "agree.models.raft_prevote:RaftPreVote", "agree.properties.raft:PROPERTIES",
    "raft.tla with etcd's PreVote and CheckQuorum as options (both on): safety",
    defaults=(("max_messages", 1),))

_ZM, _MBUG = "agree.models.zoo.multipaxos:", "agree.conformance.multipaxos_machine:"
#: Multi-Paxos's small configuration for the variants whose defaults are large (they hold
#: there: it is for comparing engines, e.g. with and without symmetry, not for the bug).
_MP_SMALL = (("slots", 1), ("max_ballot", 1), ("values", 2))

MULTIPAXOS = Protocol(
    "multipaxos", "agree.models.multipaxos:MultiPaxos", "agree.properties.multipaxos:PROPERTIES",
    "Multi-Paxos: a log of slots, one phase 1 per leader for all of them",
    conformance=_MBUG + "multipaxos_machine",
    impl_bugs=(_MBUG + "PROMISE_OMITS_VOTES", _MBUG + "VOTES_NOT_PERSISTED"),
    zoo=(
        ZooVariant("multipaxos-skip-recovery", _ZM + "SkipRecoveryMultiPaxos",
                   "Multi-Paxos whose new leader skips phase 1 for slots it voted in",
                   "agreement", "Paxos Made Simple §3 (phase 1 for every instance not "
                   "known chosen)", (("slots", 1), ("max_ballot", 2)),
                   impl_bug=_MBUG + "SKIP_RECOVERY", explored_in="minutes", small=_MP_SMALL),
        ZooVariant("multipaxos-last-promise-wins", _ZM + "LastPromiseWinsMultiPaxos",
                   "Multi-Paxos whose leader keeps the last reported vote per slot, not "
                   "the highest-ballot one", "agreement", "Paxos Made Simple §2.2, §3",
                   (("slots", 1), ("max_ballot", 2)), impl_bug=_MBUG + "LAST_PROMISE_WINS",
                   explored_in="minutes", small=_MP_SMALL),
        ZooVariant("multipaxos-accept-below-promise", _ZM + "AcceptBelowPromiseMultiPaxos",
                   "Multi-Paxos whose acceptor votes below its promise", "agreement",
                   "Paxos Made Simple §2.2", (("slots", 1), ("max_ballot", 1)),
                   impl_bug=_MBUG + "ACCEPT_BELOW_PROMISE", explored_in="seconds"),
    ))

_ZRR = "agree.models.zoo.raft_reconfig:"
#: raft-reconfig's small configuration: one member and two spares, explored in a second.
_RECONFIG_SMALL: Params = (("servers", 3), ("members", 1), ("max_term", 2), ("max_log", 2),
                           ("max_messages", 1))

RAFT_RECONFIG = Protocol(
    "raft-reconfig", "agree.models.raft_reconfig:RaftReconfig",
    "agree.properties.raft_reconfig:PROPERTIES",
    "raft.tla with single-server membership changes (Ongaro's thesis §4.1-4.2)",
    zoo=(
        ZooVariant("raft-reconfig-no-own-term-commit", _ZRR + "NoOwnTermCommitReconfig",
                   "Raft whose new leader changes membership before committing an entry "
                   "of its term", "leader_completeness",
                   "Ongaro, raft-dev 2015 \"bug in single-server membership changes\"",
                   (("servers", 4), ("members", 4), ("max_term", 4), ("max_log", 2),
                    ("max_messages", 1)), found_with_symmetry=True, explored_in="too large",
                   small=_RECONFIG_SMALL),
        ZooVariant("raft-reconfig-concurrent-changes", _ZRR + "ConcurrentChangesReconfig",
                   "Raft whose leader starts a membership change before the previous one "
                   "commits", "leader_completeness", "Ongaro's thesis §4.1",
                   (("servers", 3), ("members", 3), ("max_term", 3), ("max_log", 3),
                    ("max_messages", 1)), found_with_symmetry=True, explored_in="too large",
                   small=_RECONFIG_SMALL),
        ZooVariant("raft-reconfig-two-at-once", _ZRR + "TwoAtOnceReconfig",
                   "Raft whose leader removes two servers in one configuration entry",
                   "leader_completeness", "Raft paper §6, figure 10; Ongaro's thesis §4.1",
                   (("servers", 3), ("members", 3), ("max_term", 3), ("max_log", 2),
                    ("max_messages", 1)), found_with_symmetry=True, explored_in="too large",
                   small=_RECONFIG_SMALL),
    ))

#: Every protocol; the order in which `agree prove` names what is encoded.
PROTOCOLS: tuple[Protocol, ...] = (PAXOS, ARTICLE, LIVENESS, RAFT, RAFT_LIVENESS, RAFT_PREVOTE,
                                   MULTIPAXOS, RAFT_RECONFIG)

#: Where a listing names several protocols' zoos or implementation sides (`agree list`'s
#: zoo, `agree conform`'s choices, `agree trace replay --impl`), Raft's come first.
LISTING_ORDER: tuple[str, ...] = ("raft", "paxos")
