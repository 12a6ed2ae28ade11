"""One PySyncObj node with agree event logging, and a small JSON-lines API for clients.

    python node.py --id K --peers H:P,H:P,H:P --api PORT --data DIR [--via H:P,H:P,H:P]
                   [--log FILE] [--seed S]

Raft on --peers[K], the journal in DIR/journal{K}, the event log in --log (default
DIR/events{K}.jsonl; appended to across restarts). PySyncObj knows a node by its address,
so --peers are the nodes' own addresses, the same on every node; --via, if given, is how
this node reaches each of them (e.g. through `agree chaos --real`'s fault proxies). The
API on 127.0.0.1:PORT answers one JSON object per line: {"op": "put", "key": k,
"value": v} and {"op": "get", "key": k}, both through the Raft log (answered once
committed and applied here, so reads are linearizable), {"op": "status"} and
{"op": "dump"} (this node's whole map). Runs on the Python that has pysyncobj; imports
nothing of agree.
"""

import argparse
import json
import os
import random
import socketserver
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from instrument import AgreeSyncObj
from pysyncobj import FAIL_REASON, SyncObjConf, SyncObjConsumer, replicated
from pysyncobj.node import TCPNode


class KV(SyncObjConsumer):
    """The replicated map: writes and reads both go through the log."""

    def __init__(self):
        super().__init__()
        self.data = {}

    @replicated
    def put(self, key, value):
        self.data[key] = value

    @replicated
    def read(self, key):
        return self.data.get(key)


class ViaNode(TCPNode):
    """A peer known by its own address but reached at another port (a proxy's)."""

    def __init__(self, address, via):
        super().__init__(address)
        self.via = via

    @property
    def port(self):
        return self.via


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--id", type=int, required=True)
    p.add_argument("--peers", required=True)
    p.add_argument("--via")
    p.add_argument("--api", type=int, required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--log")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    random.seed(f"{a.seed}:{a.id}:{os.getpid()}")  # election timeouts; a restart draws anew
    peers = a.peers.split(",")
    via = a.via.split(",") if a.via else peers
    nodes = [peers[k] if k == a.id else ViaNode(peers[k], int(via[k].rsplit(":", 1)[1]))
             for k in range(len(peers))]
    conf = SyncObjConf(journalFile=os.path.join(a.data, f"journal{a.id}"),
                       leaderFallbackTimeout=3600.0, connectionRetryTime=0.2,
                       logCompactionMinEntries=10**9, logCompactionMinTime=10**9)
    kv = KV()
    node = AgreeSyncObj(a.id, nodes, a.log or os.path.join(a.data, f"events{a.id}.jsonl"),
                        conf, [kv])

    def through_log(method, *args, timeout=3.0):
        done, out = threading.Event(), {}

        def callback(result, error):
            out.update(value=result, error=error)
            done.set()
        method(*args, callback=callback)  # queued for the tick thread
        if not done.wait(timeout):
            return {"error": "timeout"}
        if out["error"] != FAIL_REASON.SUCCESS:
            return {"error": int(out["error"])}
        return {"ok": True, "value": out["value"]}

    def serve(req):
        op = req.get("op")
        if op == "put":
            return through_log(kv.put, req["key"], req["value"])
        if op == "get":
            return through_log(kv.read, req["key"])
        if op == "dump":
            return {"data": dict(kv.data)}
        st = node.getStatus()  # read from this thread, as PySyncObj's own API does
        leader = st["leader"]
        return {"role": ("Follower", "Candidate", "Leader")[st["state"]],
                "term": st["raft_term"], "commit": st["commit_idx"],
                "applied": st["last_applied"], "log_len": st["log_len"],
                "leader": None if leader is None else peers.index(leader.id)}

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            for line in self.rfile:
                self.wfile.write((json.dumps(serve(json.loads(line))) + "\n").encode())

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True  # a restarted node binds its port again at once
        daemon_threads = True

    server = Server(("127.0.0.1", a.api), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while True:  # the tick thread: every Raft step and every event-log line happen here
        node.doTick(0.01)


if __name__ == "__main__":
    main()
