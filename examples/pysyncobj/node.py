"""One PySyncObj node with agree event logging, and a small JSON-lines API for clients.

    python node.py --id K --peers H:P,H:P,H:P --api PORT --data DIR [--seed S]

Raft on --peers[K], the journal in DIR/journal{K}, the event log in DIR/events{K}.jsonl
(appended to across restarts). The API on 127.0.0.1:PORT answers one JSON object per line:
{"op": "put", "key": k, "value": v} (acknowledged once committed and applied here),
{"op": "get", "key": k}, {"op": "status"} and {"op": "dump"} (this node's whole dict).
Runs on the Python that has pysyncobj; imports nothing of agree.
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
from pysyncobj import FAIL_REASON, SyncObjConf
from pysyncobj.batteries import ReplDict


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--id", type=int, required=True)
    p.add_argument("--peers", required=True)
    p.add_argument("--api", type=int, required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    random.seed(f"{a.seed}:{a.id}:{os.getpid()}")  # election timeouts; a restart draws anew
    peers = a.peers.split(",")
    conf = SyncObjConf(journalFile=os.path.join(a.data, f"journal{a.id}"),
                       leaderFallbackTimeout=3600.0, connectionRetryTime=0.2,
                       logCompactionMinEntries=10**9, logCompactionMinTime=10**9)
    data = ReplDict()
    node = AgreeSyncObj(a.id, peers, os.path.join(a.data, f"events{a.id}.jsonl"), conf, [data])

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            for line in self.rfile:
                req = json.loads(line)
                self.wfile.write((json.dumps(serve(req)) + "\n").encode())

    def serve(req):
        op = req.get("op")
        if op == "put":
            done, out = threading.Event(), {}

            def callback(result, error):
                out["error"] = None if error == FAIL_REASON.SUCCESS else int(error)
                done.set()
            data.set(req["key"], req["value"], callback=callback)  # queued for the tick
            if not done.wait(req.get("timeout", 3.0)):
                return {"error": "timeout"}
            return {"ok": True} if out["error"] is None else {"error": out["error"]}
        if op == "get":
            return {"value": data.get(req["key"])}
        if op == "dump":
            return {"data": dict(data.items())}
        st = node.getStatus()  # read from this thread, as PySyncObj's own API does
        leader = st["leader"]
        return {"role": ("Follower", "Candidate", "Leader")[st["state"]],
                "term": st["raft_term"], "commit": st["commit_idx"],
                "applied": st["last_applied"], "log_len": st["log_len"],
                "leader": None if leader is None else peers.index(leader.id)}

    server = socketserver.ThreadingTCPServer(("127.0.0.1", a.api), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    while True:  # the tick thread: every Raft step and every event-log line happen here
        node.doTick(0.01)


if __name__ == "__main__":
    main()
