"""``ccproto conformance --role client --listen``: the harness waits for a live client (here ``ccproto serve
--role client --connect``, the reference client reconnecting) and passes it, or fails a planted bug replayably."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ccproto.capture.validator import validate_capture

TESTS = Path(__file__).resolve().parent
SCHEMES = {"bridge": "tcp", "processor": "ws", "cceb": "ws"}
#: Seconds any one command may take (a hang fails the test instead of stalling CI).
LIMIT = 120


def ccproto(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}  # the planted-bug peers live in the test suite
    return subprocess.Popen([sys.executable, "-m", "ccproto", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)


@contextmanager
def harness_and_client(protocol: str, *extra: str, peer: str | None = None) -> Iterator[tuple[str, str]]:
    """Run the listening harness and a reconnecting client; yields both outputs once the harness is done."""
    harness = ccproto("conformance", "--protocol", protocol, "--role", "client", "--listen",
                      f"{SCHEMES[protocol]}://127.0.0.1:0", "--wait", "0.05", *extra)
    client = None
    try:
        assert harness.stdout is not None
        first = harness.stdout.readline()
        match = re.match(r"listening on (\S+): start the", first)
        assert match, first
        client = ccproto("serve", protocol, "--role", "client", "--connect", match.group(1),
                         *(("--peer", peer) if peer else ()))
        harness_out = first + harness.communicate(timeout=LIMIT)[0]
        client.send_signal(2)  # SIGINT: the served client prints its summary
        client_out = client.communicate(timeout=LIMIT)[0]
        yield harness_out + f"\nexit {harness.returncode}", client_out
    finally:
        for process in (harness, client):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()


@pytest.mark.slow
@pytest.mark.parametrize("protocol", sorted(SCHEMES))
def test_the_reference_client_passes_over_a_real_connection(protocol: str) -> None:
    with harness_and_client(protocol, "--max-examples", "3") as (harness, client):
        assert "PASSED: the" in harness, harness
        assert harness.endswith("exit 0"), harness
        assert f"connecting to {SCHEMES[protocol]}://127.0.0.1:" in client
        # Several examples: the client connected again after each of the harness's closes.
        assert "connection 'connect-2'" in client, client


@pytest.mark.slow
def test_a_planted_client_bug_fails_with_a_replayable_capture(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    with harness_and_client("cceb", "--max-examples", "20", "--no-shrink", "--capture", str(capture),
                            peer="planted_cceb:EchoesReservedField") as (harness, _):
        assert harness.endswith("exit 1"), harness
        assert "the cceb client under test broke the protocol" in harness
    report = validate_capture(capture)
    assert "reserved-field" in {finding.code for finding in report.findings}
    assert "planted" not in capture.read_text()  # the planted client's token is a placeholder


def test_a_client_that_never_connects_fails_the_run() -> None:
    harness = ccproto("conformance", "--protocol", "cceb", "--role", "client", "--listen", "ws://127.0.0.1:0",
                      "--accept-timeout", "0.5", "--max-examples", "2")
    try:
        output = harness.communicate(timeout=LIMIT)[0]
    finally:
        if harness.poll() is None:
            harness.kill()
    assert harness.returncode == 1, output
    assert "did not connect to ws://127.0.0.1:0 within 0.5 s" in output
