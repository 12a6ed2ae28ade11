"""The implementation: a replicated key-value service a user could ship.

- `agree.impl.raft`: the sans-IO Raft core (RaftCore, Ready, the raft.tla messages)
- `agree.impl.paxos`: sans-IO single-decree Paxos and Multi-Paxos
- `agree.impl.sim`: the deterministic simulator (message bag, crashes, partitions);
  `simnet`: messages in flight with ids and send times, counters; `simfaults`: storage
  faults shared with chaos
- `agree.impl.storage`: SQLite and in-memory storage
- `agree.impl.kv`: the KV state machine; `agree.impl.server` / `client`: the service;
  `changes`: its membership requests
- `agree.impl.wire` / `net`: framing and asyncio transport

Nothing here imports the rest of agree (models, checker, properties, traces).
"""
