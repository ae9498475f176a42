"""Live testing of a vendor's server made usable (issue 21, items 8, 9, 11, 17): deadlines, serve's output,
progress and reproducible seeds, capture timestamps."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import hypothesis.core
import pytest
from hypothesis import settings

from ccproto import cli
from ccproto.core.roles import Role
from ccproto.testing.conformance import harness_settings, run_conformance
from ccproto.testing.harness import EPOCH, STEP, BaseAdapter, Capture, PeerAdapter, sync_adapter
from ccproto.testing.live import LiveAdapter, NonBlockingOutput, serve_peer
from ccproto.testing.slices import reference_peer
from ccproto.testing.slices.processor.peers import ReferenceProcessor
from ccproto.transports import open_link

HOST = "127.0.0.1"
STARTUP = 30.0  # seconds a serve may take to print its listening line (a loaded machine imports slowly)
STOP = 15.0  # seconds serve may take to end after SIGINT (generous: it gives up unread output after 2 s)


# -- item 8: a live adapter runs without hypothesis's deadline -------------------------------------------------


class _Async:
    async def send(self, text: str) -> None:
        """Unused."""

    async def receive(self) -> list[str]:
        """Unused."""
        return []


def test_live_adapters_say_so() -> None:
    assert LiveAdapter.live
    assert LiveAdapter(f"ws://{HOST}:9").live
    assert not BaseAdapter.live
    assert not PeerAdapter(reference_peer("processor", "server")).live
    assert sync_adapter(_Async(), asyncio.run).live  # an awaited adapter waits on something real ...
    not_live = _Async()
    not_live.live = False  # type: ignore[attr-defined]
    assert not sync_adapter(not_live, asyncio.run).live  # ... unless it says otherwise


def test_live_settings_drop_the_default_deadline_but_keep_a_chosen_one() -> None:
    # hypothesis's own default profile, not the current one: where the CI environment variable is set, hypothesis
    # loads its "ci" profile, which already has no deadline (the CI failure of 0588638).
    hypothesis_default = settings.get_profile("default")
    default = hypothesis_default.deadline
    assert default is not None
    assert harness_settings(hypothesis_default, live=True).deadline is None
    assert harness_settings(hypothesis_default, live=False).deadline == default
    chosen = settings(deadline=5000)
    assert harness_settings(chosen, live=True).deadline == chosen.deadline


class SlowPeerAdapter(PeerAdapter):
    """A live stand-in that takes longer than hypothesis's default deadline (200 ms) to set up.

    Hypothesis leaves the time spent in a state machine's rules out of the deadline, but not the machine's
    setup and teardown, where a live adapter connects and closes: that is where a real server's 256 ms went.
    """

    live = True

    def __init__(self) -> None:
        time.sleep(0.4)  # what starting a real connection on a loaded machine may cost; not an assertion on time
        super().__init__(reference_peer("processor", "server"))


def test_a_slow_live_adapter_passes_with_default_settings() -> None:
    # Before issue 21 this failed with DeadlineExceeded (hypothesis's 200 ms per example, meant for in-process
    # tests), until the user added settings(deadline=None).
    run_conformance("processor", "server", SlowPeerAdapter, settings=settings(max_examples=3, database=None))


# -- item 17: capture timestamps are microseconds ------------------------------------------------------------


def test_capture_timestamps_are_rounded_to_microseconds() -> None:
    capture = Capture("cceb")
    now = EPOCH
    for _ in range(2):  # the harness's clock: steps of 0.25 s and 0.001 s, added up as floats
        now += STEP
    for _ in range(2):
        now += 0.001
    assert repr(now) == "1800000000.5019999"  # what the capture used to say
    capture.opened(conn="c-1", now=now)
    capture.message(conn="c-1", sender=Role.CLIENT, now=now, text='{"type":"hello"}')
    capture.close(conn="c-1", sender=Role.CLIENT, now=now)
    stamps = [json.loads(line)["ts"] for line in capture.jsonl().splitlines()]
    assert stamps == [1800000000.502] * 3
    assert '"ts":1800000000.502,' in capture.jsonl()


# -- --seed: hypothesis's public seed, the same conversations ------------------------------------------------


class Recorder(PeerAdapter):
    """A reference peer that remembers what the harness sent it."""

    def __init__(self, log: list[list[str]]) -> None:
        super().__init__(reference_peer("processor", "server"))
        self.sent: list[str] = []
        log.append(self.sent)

    def send(self, text: str) -> None:
        self.sent.append(text)
        super().send(text)


def cli_args(**options: Any) -> argparse.Namespace:
    """What `ccproto conformance` parses, for running its live part in-process against a stand-in."""
    values: dict[str, Any] = {
        "protocol": "processor", "role": "server", "max_examples": 3, "seed": None, "no_shrink": False,
        "database": None, "shrink_time": 60.0, "exact_numbers": False, "quiet": True, "junit_xml": None,
        "capture": None,
    }
    values.update(options)
    return argparse.Namespace(**values)


def conversations(seed: int) -> list[list[str]]:
    log: list[list[str]] = []
    assert cli._run_live_conformance(cli_args(seed=seed), lambda: Recorder(log), "stand-in") == cli.EXIT_OK
    return log


def test_the_same_seed_draws_the_same_conversations_through_public_hypothesis_api() -> None:
    first, again, other = conversations(7), conversations(7), conversations(8)
    drawn = next(sent for sent in first if sent)  # hypothesis tries the simplest conversations (nothing sent) first
    assert drawn == next(sent for sent in again if sent)
    assert first == again
    assert first != other
    assert hypothesis.core.global_force_seed is None  # no longer set behind hypothesis's back


# -- item 11: progress lines ---------------------------------------------------------------------------------


class _Failure:
    def __init__(self, code: str, records: int) -> None:
        self.code = code
        self.capture = "{}\n" * records


def test_progress_lines_count_examples_then_the_failure_and_shrinking(capsys: pytest.CaptureFixture[str]) -> None:
    callbacks = cli._conversation_progress(3)
    assert callbacks is not None
    started, failed = callbacks
    started(1)
    started(2)
    started(3)
    started(4)  # hypothesis may run more than asked
    failed(_Failure("confirm-override", 12))
    for count in range(5, 15):
        started(count)
    failed(_Failure("confirm-override", 5))
    failed(_Failure("confirm-override", 9))  # not shorter: not worth a line
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "example 1 of 3",
        "example 2 of 3",
        "example 3 of 3",
        "example 4 (an extra)",
        "example 4: broke a rule [confirm-override] in a conversation of 12 records; shrinking it",
        "shrinking: 10 conversations tried, shortest failure so far 12 records",
        "shrinking: a shorter failure [confirm-override], 5 records",
    ]
    assert cli._conversation_progress(3, quiet=True) is None


# -- item 9: serve never blocks on its output ----------------------------------------------------------------


def start_serve(*options: str) -> subprocess.Popen[bytes]:
    """``ccproto serve processor`` with its output on a pipe that the test reads only when it chooses."""
    return subprocess.Popen([sys.executable, "-m", "ccproto", "serve", "processor", "--listen", f"{HOST}:0", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def read_listening(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    first = process.stdout.readline().decode()
    match = re.match(r"^listening on (ws://127\.0\.0\.1:\d+) \(ReferenceProcessor\)$", first)
    assert match, first
    return match[1]


async def invalid_requests(url: str, count: int) -> int:
    """Send ``count`` invalid requests one after the other; how many were answered (each within a generous bound)."""
    link = await open_link(url)
    answered = 0
    try:
        for _ in range(count):
            await link.send_text('{"command":"prepareSession","data":{}}')
            answered += await asyncio.wait_for(link.receive(), STOP) is not None
    finally:
        await link.close()
    return answered


def stop(process: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    process.send_signal(signal.SIGINT)
    try:
        status = process.wait(STOP)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        pytest.fail(f"serve did not end within {STOP} s of SIGINT")
    assert process.stdout is not None
    return status, process.stdout.read()


def sent_then_stopped(requests: int, *options: str) -> tuple[subprocess.Popen[bytes], int, bytes]:
    """Start serve, send ``requests`` invalid requests (each must be answered), SIGINT it: (process, status, output)."""
    process = start_serve(*options)
    try:
        url = read_listening(process)
        assert asyncio.run(invalid_requests(url, requests)) == requests
        status, rest = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return process, status, rest


def test_serve_keeps_answering_and_stops_on_sigint_when_nobody_reads_its_output() -> None:
    # 600 requests print about 200 KB (a record line and three findings each): far past a pipe's 64 KiB, which
    # nobody reads after the listening line. Every answer must still come, and SIGINT must still end serve.
    process, status, rest = sent_then_stopped(600)
    assert status == 0  # the client's errors, refused as the protocol requires
    assert 0 < len(rest) <= 1 << 17  # what the pipe held; the rest was dropped, not waited for
    assert process.stderr is not None
    assert b"Traceback" not in process.stderr.read()


def test_serve_quiet_prints_only_where_it_listens_and_the_summary() -> None:
    _, status, rest = sent_then_stopped(3, "--quiet")
    assert status == 0
    lines = rest.decode().splitlines()
    assert len(lines) == 1, lines
    assert re.match(r"^OK: \d+ records, \d+ errors, 0 warnings \(served server: clean; its clients: \d+ errors, "
                    r"refused as the protocol requires\)$", lines[0]), lines


def test_non_blocking_output_drops_and_counts_what_a_full_pipe_cannot_take() -> None:
    read, write = os.pipe()
    os.set_blocking(read, False)  # our own end: reading what is there never waits
    try:
        output = NonBlockingOutput(write, limit=4096)
        line = "x" * 99
        for _ in range(2000):  # 200 KB: the pipe (64 KiB) and the buffer (4 KiB) fill up; no write blocks
            output.write(line)
        assert output.dropped > 0
        assert 0 < output.pending <= 4096
        assert not output.close(timeout=0.01)  # nobody reads: it gives up rather than wait
        taken = b""
        for _ in range(100):  # the reader comes back: what was buffered follows, then a note of what was dropped
            try:
                taken += os.read(read, 65536)
            except BlockingIOError:
                if output.flush():
                    break
        output.write("after")
        taken += os.read(read, 65536)
        lines = taken.decode().splitlines()
        assert set(lines[:-2]) == {line}
        assert lines[-2] == f"... {output.dropped} line(s) not written: standard output was not read fast enough"
        assert lines[-1] == "after"
        assert len(lines) - 2 + output.dropped == 2000
    finally:
        os.close(read)
        os.close(write)


# -- docs/testing.md's live-server recipe runs as it is ------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
RECIPE_MARK = "the live-server recipe"


def live_server_recipe() -> str:
    """The python block that follows the line naming the recipe in docs/testing.md."""
    lines = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8").splitlines()
    start = next(index for index, line in enumerate(lines) if RECIPE_MARK in line and line.startswith("<!--"))
    assert lines[start + 1] == "```python"
    end = lines.index("```", start + 2)
    return "\n".join(lines[start + 2:end]) + "\n"


@pytest.mark.slow
def test_the_documented_live_server_recipe_passes_under_pytest(tmp_path: Path) -> None:
    recipe = live_server_recipe()
    assert "LiveAdapter" in recipe
    assert "conformance_test(" in recipe
    assert "deadline" not in recipe  # issue 21: a live adapter needs no deadline setting
    (tmp_path / "test_live_server.py").write_text(recipe, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_live_server.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^1 passed\b", done.stdout.splitlines()[-1]), done.stdout


# -- the live path's waiting: a listen step lingers, a served peer's clock runs under traffic ----------------


class Lingering(PeerAdapter):
    """A reference peer that counts the harness's ``linger`` calls."""

    lingered: ClassVar[list[int]] = [0]

    def __init__(self) -> None:
        super().__init__(reference_peer("processor", "server"))

    def linger(self) -> None:
        type(self).lingered[0] += 1


def test_the_harness_lets_a_live_adapter_linger_on_its_listen_steps() -> None:
    Lingering.lingered[0] = 0
    run_conformance("processor", "server", Lingering, settings=settings(max_examples=10, database=None), seed=3)
    assert Lingering.lingered[0] > 0


class Clocked(ReferenceProcessor):
    """The reference processor, counting how often it is told the time."""

    told: ClassVar[list[int]] = [0]

    def advance(self, *, now: float) -> list[str]:
        type(self).told[0] += 1
        return super().advance(now=now)


def test_a_served_peer_is_told_the_time_while_messages_keep_coming() -> None:
    async def run() -> None:
        server = await serve_peer("processor", Clocked, HOST, 0, tick=0.05)
        try:
            port = next(iter(getattr(server, "sockets", ()))).getsockname()[1]
            link = await open_link(f"ws://{HOST}:{port}")
            loop = asyncio.get_running_loop()
            start = loop.time()
            try:
                while loop.time() - start < 0.5:  # a message every few ms: the link is never quiet for a tick
                    await link.send_text('{"command":"prepareSession","data":{}}')
                    assert await asyncio.wait_for(link.receive(), STOP) is not None
                    await asyncio.sleep(0.005)
            finally:
                await link.close()
        finally:
            server.close()
            await server.wait_closed()

    Clocked.told[0] = 0
    asyncio.run(run())
    assert Clocked.told[0] >= 2  # about every 0.05 s of the 0.5 s; none at all before (told only when quiet)
