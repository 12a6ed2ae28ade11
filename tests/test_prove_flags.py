"""`agree prove` refuses the other protocol's flags rather than ignoring them: `prove raft
--acceptors 5` used to print PROVED for 3 servers."""

from __future__ import annotations

import pytest

from agree.checker.cli import main


@pytest.mark.parametrize("argv,flag", [
    (["prove", "raft", "--acceptors", "5"], "--acceptors"),
    (["prove", "raft-forget-vote", "--acceptors", "any"], "--acceptors"),
    (["prove", "paxos", "--servers", "5"], "--servers"),
    (["prove", "paxos-amnesia", "--part", "election"], "--part"),
])
def test_the_other_protocols_flag_is_an_error(argv: list[str], flag: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out = capsys.readouterr()
    assert flag in out.err and "does not apply" in out.err and "PROVED" not in out.out


def test_each_protocols_own_flags_still_work(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "paxos", "--acceptors", "1", "--action", "Phase1a"]) == 0
    assert main(["prove", "raft", "--servers", "1", "--part", "election",
                 "--action", "Timeout"]) == 0
    out = capsys.readouterr().out
    assert out.count("PROVED") == 2 and "servers: 1" in out
