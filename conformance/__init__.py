"""Conformance: the implementation (impl/) held to the specs (models/), step by step.

matcher.py and harness.py are protocol-independent (judge one implementation step
by spec steps; keep and render the matched behaviour). raft_adapter.py /
raft_driver.py / raft_machine.py and paxos_adapter.py / paxos_machine.py are the
adapters and Hypothesis machines; bugs.py applies seeded bugs (Raft's in raft_bugs.py,
Paxos' in paxos_machine.py); raft_replay.py and paxos_replay.py drive the
implementation through spec traces (replay_impl.py: their result, and the regression
test it becomes); validate_logs.py checks a real run's event logs.
"""

from agree.conformance.harness import ConformanceFailure, Recorder
from agree.conformance.matcher import Hint, Match, Mismatch, match_step

__all__ = ["ConformanceFailure", "Hint", "Match", "Mismatch", "Recorder", "match_step"]
