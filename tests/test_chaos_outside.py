"""`agree chaos --real --cluster-cmd ... --client ...`: the interface for an outside
implementation (chaos/outside.py). Bad input is one line and exit 2; the template's
placeholders reach the process. (A run on a real outside implementation, PySyncObj from
PyPI, is in test_pysyncobj_example.py.)"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from agree.chaos.cluster import HOST, Proxy
from agree.chaos.outside import ClientAdapter, OutsideCluster, check_template, load_client
from agree.cli.main import main

CLIENT = "CLIENT"  # replaced by the adapter file the fixture writes


@pytest.fixture
def adapter(tmp_path: Path) -> str:
    """A ClientAdapter subclass in a file of its own (as a user would write one)."""
    path = tmp_path / "my_client.py"
    path.write_text("import json\nfrom agree.chaos.outside import ClientAdapter\n\n"
                    "class Client(ClientAdapter):\n    pass\n")
    return str(path)


@pytest.mark.parametrize(("argv", "says"), [
    (["--cluster-cmd", "x {id}"], "--cluster-cmd and --client go together, with --real"),
    (["--real", "--cluster-cmd", "x {id}"], "--cluster-cmd and --client go together"),
    (["--real", "--client", f"{CLIENT}:Client"], "--cluster-cmd and --client go together"),
    (["--deviation", "fast_backup"], "--cluster-cmd and --client go together"),
    (["--real", "--cluster-cmd", "x {nope}", "--client", f"{CLIENT}:Client"],
     "--cluster-cmd: bad template ('nope')"),
    (["--real", "--cluster-cmd", "x {id", "--client", f"{CLIENT}:Client"],
     "--cluster-cmd: bad template"),
    (["--real", "--cluster-cmd", "x {id}", "--client", "nofile"], "expected FILE.py:CLASS"),
    (["--real", "--cluster-cmd", "x {id}", "--client", "/nonexistent.py:C"], "nonexistent"),
    (["--real", "--cluster-cmd", "x {id}", "--client", f"{CLIENT}:json"],
     "json is not a subclass of agree.chaos.outside.ClientAdapter"),
    (["--real", "--cluster-cmd", "x {id}", "--client", f"{CLIENT}:Client",
      "--deviation", "bogus"], "unknown deviation 'bogus'"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], says: str, adapter: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.replace(CLIENT, adapter) for a in argv]
    assert main(["chaos", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_the_client_loads_from_a_file_and_a_module(adapter: str) -> None:
    assert issubclass(load_client(f"{adapter}:Client"), ClientAdapter)  # type: ignore[arg-type]
    assert load_client("agree.chaos.outside:ClientAdapter") is ClientAdapter
    check_template("run --id {id} --peers {peers} {{literal}}")


def test_the_template_gets_every_placeholder(tmp_path: Path) -> None:
    """Each node's command line: its id, its port, the proxies to the others, the nodes'
    own addresses, its client port, the data directory and its event log."""
    out = tmp_path / "args{id}"
    script = "import sys; open(sys.argv[1], 'w').write(' '.join(sys.argv[2:]))"
    template = (f"{sys.executable} -c \"{script}\" {out} {{id}} {{port}} {{peers}} "
                "{addresses} {api} {data} {log}")
    cluster = OutsideCluster(3, tmp_path, template)
    for k in range(3):
        cluster.start_node(k)
    for proc in cluster.procs.values():
        assert proc.wait(30) == 0
    own = ",".join(f"127.0.0.1:{p}" for p in cluster.ports)
    for k in range(3):
        words = (tmp_path / f"args{k}").read_text().split()
        peers = words[2].split(",")
        assert words[:2] == [str(k), str(cluster.ports[k])]
        assert peers[k] == f"127.0.0.1:{cluster.ports[k]}"
        assert all(peers[j] == f"127.0.0.1:{cluster.proxies[(k, j)].port}"
                   for j in range(3) if j != k)
        assert words[3:] == [own, str(cluster.api[k]), str(tmp_path),
                             str(tmp_path / f"events{k}.jsonl")]


def test_a_proxy_delays_in_order_and_a_cut_loses_only_what_is_in_flight() -> None:
    """The delay and drop faults: chunks arrive late and in order; after a cut the
    connection is gone but a new one goes through (a partition refuses it)."""
    async def scenario() -> tuple[float, bytes, bool, bytes]:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(100):
                writer.write(data)
                await writer.drain()
            writer.close()
        server = await asyncio.start_server(echo, HOST, 0)
        proxy = Proxy(server.sockets[0].getsockname()[1])
        await proxy.start()
        proxy.delay = 0.2
        reader, writer = await asyncio.open_connection(HOST, proxy.port)
        t0 = time.monotonic()
        writer.write(b"a")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"b")
        got = await reader.readexactly(2)
        took = time.monotonic() - t0
        proxy.delay = 0.0
        proxy.cut()
        gone = await reader.read(10) == b""
        reader2, writer2 = await asyncio.open_connection(HOST, proxy.port)
        writer2.write(b"c")
        again = await asyncio.wait_for(reader2.readexactly(1), 5)
        writer2.close()
        await proxy.close()
        server.close()
        return took, got, gone, again

    took, got, gone, again = asyncio.run(scenario())
    assert got == b"ab" and took >= 0.4  # two hops of 0.2 s (there and back)
    assert gone and again == b"c"
