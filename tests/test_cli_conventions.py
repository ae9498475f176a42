"""``ccproto validate`` (and ``main()``) keep the conventions of common command lines (issue 21, items 12-16).

Options anywhere among the files; a progress display on a terminal only (plain, gzip, standard input,
``--jobs``), never with ``TERM=dumb`` or ``--quiet``; ``--max-findings 0``; Ctrl-C as one line and exit
status 130 (a partial report marked as interrupted); outputs checked before any work; JUnit reports with
``failures`` never above ``tests``.  The terminal tests run ``python -m ccproto`` on a pseudo-terminal.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import select
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import synthetic_captures
from ccproto import cli
from ccproto.capture.output import render, render_json, render_junit, render_text, summary_line
from ccproto.cli import main
from ccproto.core.findings import Finding, Kind, Report, Severity

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "captures"
CLEAN = str(EXAMPLES / "bridge-clean.jsonl")  # 16 records, 1 warning (an alternate spelling)
FAULTY = str(EXAMPLES / "bridge-faulty.jsonl")  # 17 records, 8 errors, 2 warnings, all on one connection
#: What ``ccproto validate --format json`` prints for CLEAN + FAULTY, and with ``--strict``.
BOTH = {"records": 33, "errors": 8, "warnings": 3}
#: The longest any one run here may take before the test gives up (a hang is a failure, not a slow pass).
PATIENCE = 60.0


def run_main(*args: str) -> tuple[int, str, str]:
    """``main(args)`` in this process: exit status, standard output, standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            status = int(exc.code or 0)
    return status, out.getvalue(), err.getvalue()


# -- 12. options anywhere among the files ---------------------------------------------------------------------


def test_an_option_between_files_is_taken() -> None:
    status, out, err = run_main("validate", CLEAN, "--strict", FAULTY)
    assert (status, err) == (1, "")
    assert out == run_main("validate", "--strict", CLEAN, FAULTY)[1]
    assert out.splitlines()[-1] == "FAILED: 33 records, 9 errors, 2 warnings"  # --strict took the warning


OPTIONS = [("--strict",), ("--format", "json"), ("--max-findings", "2"), ("--partial",), ("-q",)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chosen=st.lists(st.sampled_from(OPTIONS), unique=True, max_size=3), data=st.data())
def test_options_may_come_anywhere(chosen: list[tuple[str, ...]], data: st.DataObject) -> None:
    """Wherever the options stand among the files, the report is the one with the options first."""
    units: list[tuple[str, ...]] = [(CLEAN,), (FAULTY,)]
    for option in chosen:  # an option and its value stay together
        at = data.draw(st.integers(0, len(units)), label=f"position of {option[0]}")
        units.insert(at, option)
    expected = run_main("validate", *[w for option in chosen for w in option], CLEAN, FAULTY)
    assert run_main("validate", *[w for unit in units for w in unit]) == expected
    assert expected[0] == 1


def test_an_unknown_option_among_files_is_still_a_usage_error() -> None:
    status, out, err = run_main("validate", CLEAN, "--no-such-option", FAULTY)
    assert (status, out) == (2, "")
    assert "unrecognized arguments: --no-such-option" in err


# -- 13. --max-findings 0, --quiet, the progress display (its parts; the terminal tests are below) ------------


def test_max_findings_0_shows_no_finding_but_counts_them_all() -> None:
    status, out, err = run_main("validate", "--max-findings", "0", CLEAN, FAULTY)
    assert (status, err) == (1, "")
    assert "    record " not in out
    assert out.splitlines()[-1] == "FAILED: 33 records, 8 errors, 3 warnings"
    status, out, _ = run_main("validate", "--format", "json", "--max-findings", "0", CLEAN, FAULTY)
    assert status == 1
    assert json.loads(out) == {"summary": BOTH, "findings": []}
    status, out, _ = run_main("validate", "--format", "junit", "--max-findings", "0", FAULTY)
    root = ET.fromstring(out)
    assert (status, root.findall(".//failure"), root.get("failures")) == (1, [], "0")


@pytest.mark.parametrize("bad", ["-1", "x", ""])
def test_max_findings_takes_no_negative_number(bad: str) -> None:
    status, out, err = run_main("validate", "--max-findings", bad, CLEAN)
    assert (status, out) == (2, "")
    assert "--max-findings" in err


class Clock:
    """A clock the test moves (the CLI's display reads one; here it is not the real one)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress(label: str, total: int | None, delay: float, others: int = 0) -> tuple[Any, io.StringIO, Clock]:
    stream, clock = io.StringIO(), Clock()
    bar = cli._Progress(label, total, stream, delay=delay, others=(lambda: others) if others else None)
    bar._clock = clock  # the display's time, moved by the test
    bar._start = clock.now
    return bar, stream, clock


def test_the_display_waits_for_its_delay() -> None:
    bar, stream, clock = progress("big.jsonl", 4_000_000, delay=1.0)
    bar.advance(1_000_000)
    clock.now += 0.5
    bar.advance(1_000_000)
    assert stream.getvalue() == ""
    clock.now += 0.5
    bar.advance(1_000_000)
    assert stream.getvalue() == "\rbig.jsonl [##################       ]  75% 3.0 MB of 4.0 MB 3.0 MB/s\x1b[K"
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_a_quick_run_shows_nothing_and_erases_nothing() -> None:
    bar, stream, _ = progress("small.jsonl", 1000, delay=1.0)
    bar.advance(1000)
    bar.close()
    assert stream.getvalue() == ""


def test_an_unknown_size_shows_bytes_and_rate() -> None:
    bar, stream, clock = progress("<stdin>", None, delay=0.0)
    clock.now += 2.0
    bar.advance(3_000_000)
    assert stream.getvalue() == "\r<stdin> 3.0 MB read 1.5 MB/s\x1b[K"
    assert "%" not in stream.getvalue()


def test_the_display_counts_what_workers_read() -> None:
    bar, stream, clock = progress("2 files", 10_000_000, delay=0.0, others=4_000_000)
    clock.now += 1.0
    bar.advance(1_000_000)
    assert " 50% 5.0 MB of 10.0 MB 5.0 MB/s" in stream.getvalue()


def test_a_redraw_waits_for_a_step_or_its_interval() -> None:
    bar, stream, clock = progress("big.jsonl", 100_000_000, delay=0.0)
    clock.now += 1.0
    bar.advance(10)
    drawn = stream.getvalue()
    bar.advance(10)  # same percentage, no time passed: nothing new
    assert stream.getvalue() == drawn
    bar.advance(900_000)  # still 0%, no time passed: nothing new
    assert stream.getvalue() == drawn
    clock.now += 0.5  # past the redraw interval
    bar.advance(10)
    assert stream.getvalue() == drawn + "\rbig.jsonl [                         ]   0% 0.9 MB of 100.0 MB 0.6 MB/s\x1b[K"


@pytest.mark.parametrize(("text", "expected"), [("0", 0.0), ("2.5", 2.5), ("-1", None), ("soon", None), ("", None)])
def test_the_delay_can_be_set_for_tests(monkeypatch: pytest.MonkeyPatch, text: str, expected: float | None) -> None:
    monkeypatch.setenv("CCPROTO_PROGRESS_DELAY", text)
    assert cli._progress_delay() == (cli.PROGRESS_DELAY if expected is None else expected)


# -- 14. Ctrl-C (in this process; on a terminal below) --------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["validate", CLEAN],
    ["conformance", "tcp://127.0.0.1:9", "--protocol", "bridge", "--role", "server"],
])
def test_ctrl_c_is_one_line_and_status_130(monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    def interrupted(args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, f"_{command[0]}", interrupted)
    status, out, err = run_main(*command)
    assert (status, out) == (130, "")
    assert err == f"ccproto {command[0]}: interrupted\n"


def interrupt_after(records: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C as the validator takes its record number ``records + 1`` (a run stopped in the middle)."""
    from ccproto.capture.validator import CaptureValidator

    feed = CaptureValidator.feed
    seen = [0]

    def feeding(self: CaptureValidator, item: Any) -> Any:
        seen[0] += 1
        if seen[0] > records:
            raise KeyboardInterrupt
        return feed(self, item)

    monkeypatch.setattr(CaptureValidator, "feed", feeding)


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_ctrl_c_leaves_a_partial_report_marked_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    out = tmp_path / f"report.{fmt}"
    interrupt_after(16 + 5, monkeypatch)  # all of CLEAN, then the first 5 records of FAULTY
    status, stdout, err = run_main("validate", "--format", fmt, "--output", str(out), CLEAN, FAULTY)
    assert (status, stdout) == (130, "")
    assert err == f"ccproto validate: interrupted; partial report (21 records) written to {out}\n"
    text = out.read_text(encoding="utf-8")
    if fmt == "text":
        assert text.splitlines()[-1] == ("INTERRUPTED: 21 records, 1 error, 1 warning "
                                         "(stopped before the end: a partial report)")
        assert "record 2: error [sequence/unexpected-message]" in text  # FAULTY's first error is in
    elif fmt == "json":
        report = json.loads(text)
        assert report["interrupted"] is True
        assert report["summary"] == {"records": 21, "errors": 1, "warnings": 1}
    else:
        root = ET.fromstring(text)
        assert [suite.get("name") for suite in root.findall("testsuite")] == [CLEAN, FAULTY]
        for suite in root.findall("testsuite"):
            assert [(p.get("name"), p.get("value")) for p in suite.findall("properties/property")] == [
                ("interrupted", "true")]
        assert root.get("failures") == "1"


def test_ctrl_c_with_jobs_keeps_the_files_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--jobs on several files: the partial report holds every file a worker finished before Ctrl-C."""
    results = cli._results
    calls = [0]

    def interrupted_on_the_second(futures: Any, bar: Any) -> Any:
        calls[0] += 1
        if calls[0] == 2:
            raise KeyboardInterrupt
        return results(futures, bar)

    monkeypatch.setattr(cli, "_results", interrupted_on_the_second)
    out = tmp_path / "partial.json"
    status, stdout, err = run_main("validate", "--jobs", "2", "--format", "json", "--output", str(out), CLEAN, FAULTY)
    assert (status, stdout) == (130, "")
    assert err == f"ccproto validate: interrupted; partial report (16 records) written to {out}\n"
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["interrupted"] is True
    assert report["summary"] == {"records": 16, "errors": 0, "warnings": 1}
    assert {f["file"] for f in report["findings"]} == {CLEAN}


def test_ctrl_c_without_output_prints_no_report(monkeypatch: pytest.MonkeyPatch) -> None:
    interrupt_after(3, monkeypatch)
    assert run_main("validate", CLEAN) == (130, "", "ccproto validate: interrupted\n")


def test_a_complete_report_is_not_marked() -> None:
    report = Report(records=2)
    assert "interrupted" not in json.loads(render_json(report))
    assert "interrupted" not in render_junit(report)
    assert summary_line(report) == "OK: 2 records, 0 errors, 0 warnings"
    assert render_text(report, interrupted=True).splitlines()[-1].startswith("INTERRUPTED: 2 records")
    root = ET.fromstring(render(report, "junit", interrupted=True))
    assert [suite.get("name") for suite in root.findall("testsuite")] == ["(interrupted)"]


# -- 15. outputs checked before any work ----------------------------------------------------------------------


def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any validation, serving or conformance run fails the test: the check must come first."""
    def work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("work started before the output was checked")

    import ccproto.capture.validator
    import ccproto.testing.live
    import ccproto.transports

    monkeypatch.setattr(ccproto.capture.validator, "validate_sources", work)
    monkeypatch.setattr(ccproto.testing.live, "serve_peer", work)
    monkeypatch.setattr(ccproto.transports, "parse_target", work)


def unwritable(tmp_path: Path) -> dict[str, tuple[str, str]]:
    (tmp_path / "file").write_text("", encoding="utf-8")
    return {
        "missing-directory": (str(tmp_path / "no" / "such" / "r.txt"), f"no directory {tmp_path / 'no' / 'such'}"),
        "directory": (str(tmp_path), "it is a directory"),
        "under-a-file": (str(tmp_path / "file" / "r.txt"), f"no directory {tmp_path / 'file'}"),
    }


COMMANDS = {
    "validate": ["validate", CLEAN, "--output"],
    "serve": ["serve", "bridge", "--listen", "127.0.0.1:0", "--record"],
    "conformance": ["conformance", "tcp://127.0.0.1:9", "--protocol", "bridge", "--role", "server", "--capture"],
}


@pytest.mark.parametrize("case", ["missing-directory", "directory", "under-a-file"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unwritable_output_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, case: str
) -> None:
    path, reason = unwritable(tmp_path)[case]
    no_work(monkeypatch)
    status, out, err = run_main(*COMMANDS[command], path)
    option = COMMANDS[command][-1]
    assert (status, out) == (2, "")
    assert err == f"ccproto {command}: error: {option}: cannot write {path}: {reason}\n"
    assert not (tmp_path / "no").exists()


def test_a_writable_output_passes_the_check(tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    cli._check_writable(str(out), "--output")
    cli._check_writable(None, "--output")
    out.write_text("old", encoding="utf-8")
    cli._check_writable(str(out), "--output")
    assert out.read_text(encoding="utf-8") == "old"  # checking writes nothing


def test_validate_checks_its_output_before_reading_its_input(tmp_path: Path) -> None:
    """Standard input that never ends: the run can only finish if it refuses the output first."""
    with subprocess.Popen([sys.executable, "-m", "ccproto", "validate", "-", "--output", str(tmp_path / "no" / "r")],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            out, err = proc.communicate(timeout=PATIENCE)  # stdin stays open: communicate() closes it only after
        finally:
            proc.kill()
    assert (proc.returncode, out) == (2, "")
    assert "error: --output: cannot write" in err


# -- 16. JUnit: one <failure> per failed test case ------------------------------------------------------------


def test_junit_fails_each_test_case_once() -> None:
    status, out, _ = run_main("validate", "--format", "junit", CLEAN, FAULTY)
    root = ET.fromstring(out)
    check_junit_shape(root)
    [case] = [case for case in root.iter("testcase") if case.findall("failure")]
    [failure] = case.findall("failure")
    assert status == 1
    assert root.get("tests") == "2"
    assert root.get("failures") == "1"
    assert (failure.get("message") or "").endswith(" (and 7 more)")
    assert (failure.get("message") or "").startswith("record 2: ")
    assert failure.get("type") == "unexpected-message"
    assert (failure.text or "").count("\nrecord ") == 7  # every error of the connection, one line each
    assert (case.findtext("system-out") or "").count("warning record ") == 2


def check_junit_shape(root: ET.Element) -> None:
    """The shape of the common JUnit XSD (Jenkins'/Ant's): what may stand where, and counts that add up."""
    assert root.tag == "testsuites"
    assert set(root.attrib) <= {"name", "time", "tests", "failures", "disabled", "errors"}
    tests = failures = 0
    for suite in root:
        assert suite.tag == "testsuite"
        tags = [child.tag for child in suite]
        assert tags == sorted(tags, key=["properties", "testcase", "system-out", "system-err"].index)
        assert tags.count("properties") <= 1
        cases = suite.findall("testcase")
        failed = sum(bool(case.findall("failure")) for case in cases)
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(failed)
        assert failed <= len(cases)
        tests, failures = tests + len(cases), failures + failed
        for case in cases:
            tags = [child.tag for child in case]
            assert tags.count("failure") <= 1
            assert tags == sorted(tags, key=["failure", "system-out", "system-err"].index)
    assert (root.get("tests"), root.get("failures")) == (str(tests), str(failures))
    assert failures <= tests


@st.composite
def reports(draw: st.DrawFn) -> Report:
    """Reports with findings of both severities spread over files and connections (some none)."""
    files = draw(st.lists(st.sampled_from(["a.jsonl", "b.jsonl", "c.jsonl"]), unique=True, min_size=1))
    report = Report(records=draw(st.integers(0, 100)))
    for file in files:
        conns = draw(st.lists(st.sampled_from(["c1", "c2", "c3", "c4"]), unique=True))
        report.connections[file] = dict.fromkeys(conns, "bridge")
        for number in range(draw(st.integers(0, 12))):
            report.findings.append(Finding(
                file=file, record=number + 1, conn=draw(st.sampled_from([*conns, None])),
                severity=draw(st.sampled_from(Severity)), kind=Kind.SEQUENCE, code=f"code-{number}", path="",
                message=f"message {number}"))
    return report


@given(report=reports(), limit=st.none() | st.integers(0, 20), interrupted=st.booleans())
def test_junit_failures_never_exceed_tests(report: Report, limit: int | None, interrupted: bool) -> None:
    root = ET.fromstring(render_junit(report, max_findings=limit, interrupted=interrupted))
    check_junit_shape(root)
    shown = report.findings if limit is None else report.findings[:limit]
    errors = [f for f in shown if f.severity is Severity.ERROR]
    assert root.get("failures") == str(len({(f.file, f.conn) for f in errors}))
    texts = "\n".join(failure.text or "" for failure in root.iter("failure"))
    assert all(f"record {f.record}: [sequence/{f.code}]" in texts for f in errors)
    notes = "\n".join(out.text or "" for out in root.iter("system-out"))
    assert notes.count("warning record ") == len(shown) - len(errors)


# -- on a terminal: python -m ccproto validate with standard error on a pseudo-terminal ----------------------


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A clean capture, plain and gzip (a few thousand records: with no delay the display shows at once)."""
    folder = tmp_path_factory.mktemp("captures")
    found = {}
    for name in ("capture.jsonl", "capture.jsonl.gz"):
        synthetic_captures.write(folder / name, records=6000, connections=60, concurrency=20, seed=21)
        found[name] = folder / name
    return found


def terminal_env(**changes: str) -> dict[str, str]:
    env = {**os.environ, "TERM": "xterm", "CCPROTO_PROGRESS_DELAY": "0"}
    env.update(changes)
    return env


class OnTerminal:
    """``python -m ccproto ARGS`` with standard error on a pseudo-terminal (its own process group)."""

    def __init__(self, args: Sequence[str], env: dict[str, str], stdin: Any = subprocess.DEVNULL) -> None:
        import pty

        master, slave = pty.openpty()
        self.master = master
        try:
            # Ctrl-C as on an interactive terminal: this test may run where SIGINT is ignored (a background job).
            self.proc = subprocess.Popen([sys.executable, "-m", "ccproto", *args], stdin=stdin,
                                         stdout=subprocess.PIPE, stderr=slave, env=env, start_new_session=True,
                                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        finally:
            os.close(slave)
        self.err = ""

    def read(self, until: str | None = None) -> None:
        """Read standard error until ``until`` appears (``None``: until it closes)."""
        while until is None or until not in self.err:
            ready = select.select([self.master], [], [], PATIENCE)[0]
            assert ready, f"nothing on the terminal for {PATIENCE} s (waiting for {until!r}); so far {self.err!r}"
            try:
                chunk = os.read(self.master, 65536)
            except OSError as exc:  # Linux: EIO once every writer is gone
                if exc.errno != errno.EIO:
                    raise
                chunk = b""
            if not chunk:
                assert until is None, f"standard error closed before {until!r}: {self.err!r}"
                return
            self.err += chunk.decode("utf-8", "replace")

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the whole process group (the command and its workers), as a terminal sends it."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def finish(self) -> tuple[int, str, str]:
        """Exit status, standard output and standard error (as the terminal shows it: CR LF as LF)."""
        self.read()
        assert self.proc.stdout is not None
        out = self.proc.stdout.read().decode()
        status = self.proc.wait(PATIENCE)
        return status, out, self.err.replace("\r\n", "\n")

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stdin):
            if stream is not None:
                stream.close()
        os.close(self.master)


@contextlib.contextmanager
def on_terminal(*args: str, env: dict[str, str] | None = None, stdin: Any = subprocess.DEVNULL
                ) -> Iterator[OnTerminal]:
    run = OnTerminal(args, env or terminal_env(), stdin)
    try:
        yield run
    finally:
        run.close()


def visible_lines(err: str) -> list[str]:
    """The lines a terminal is left showing: what follows each line's last carriage return, erasures applied."""
    lines = [line.rsplit("\r", 1)[-1].replace("\x1b[K", "") for line in err.split("\n")]
    return [line for line in lines if line]


@pytest.mark.parametrize("name", ["capture.jsonl", "capture.jsonl.gz"])
def test_a_file_shows_percentage_bytes_and_rate(captures: dict[str, Path], name: str) -> None:
    path = captures[name]
    with on_terminal("validate", str(path)) as run:
        status, out, err = run.finish()
    assert status == 0
    assert out.splitlines()[-1] == "OK: 6000 records, 0 errors, 0 warnings"
    size = f"of {path.stat().st_size / 1e6:,.1f} MB"  # of a gzip file: its compressed bytes
    assert f"\r{path} [" in err
    assert "100% " in err
    assert size in err
    assert " MB/s" in err
    assert visible_lines(err) == []  # erased at the end


def test_standard_input_shows_bytes_and_rate(captures: dict[str, Path]) -> None:
    """A pipe, of no known size (standard input redirected from a file has one: it shows a percentage)."""
    with on_terminal("validate", "-", stdin=subprocess.PIPE) as run:
        assert run.proc.stdin is not None
        run.proc.stdin.write(captures["capture.jsonl"].read_bytes())  # the pipe drains as the command reads it
        run.proc.stdin.close()
        status, out, err = run.finish()
    assert status == 0
    assert out.splitlines()[-1] == "OK: 6000 records, 0 errors, 0 warnings"
    assert "\r<stdin> " in err
    assert " MB read " in err
    assert " MB/s" in err
    assert "%" not in err


@pytest.mark.parametrize("flags", [["--jobs", "2"], ["--jobs", "2", "SECOND"]], ids=["sharded", "two-files"])
def test_jobs_show_everyone_s_progress(captures: dict[str, Path], flags: list[str]) -> None:
    files = [str(captures["capture.jsonl"])] + [str(captures["capture.jsonl.gz"]) for f in flags if f == "SECOND"]
    with on_terminal("validate", *[f for f in flags if f != "SECOND"], *files) as run:
        status, out, err = run.finish()
    assert status == 0
    assert out.splitlines()[-1] == f"OK: {6000 * len(files)} records, 0 errors, 0 warnings"
    assert "100% " in err  # every worker's bytes counted, not only this process's
    assert " MB/s" in err
    assert visible_lines(err) == []


@pytest.mark.parametrize("how", ["TERM=dumb", "--quiet", "-q"])
def test_no_display_on_a_dumb_terminal_or_when_quiet(captures: dict[str, Path], how: str) -> None:
    env = terminal_env(TERM="dumb") if how == "TERM=dumb" else terminal_env()
    flags = [] if how == "TERM=dumb" else [how]
    with on_terminal("validate", *flags, str(captures["capture.jsonl.gz"]), env=env) as run:
        status, out, err = run.finish()
    assert status == 0
    assert out.splitlines()[-1] == "OK: 6000 records, 0 errors, 0 warnings"
    assert err == ""


def lines_of(path: Path, count: int) -> bytes:
    with path.open("rb") as handle:
        return b"".join(handle.readline() for _ in range(count))


@pytest.mark.parametrize("fmt", ["", "json"])
def test_ctrl_c_on_a_terminal(tmp_path: Path, captures: dict[str, Path], fmt: str) -> None:
    """Standard input that has not ended: the run is surely in the middle when Ctrl-C comes."""
    out_file = tmp_path / "partial.json"
    flags = ["--format", "json", "--output", str(out_file)] if fmt else []
    with on_terminal("validate", *flags, "-", stdin=subprocess.PIPE) as run:
        stdin: IO[bytes] | None = run.proc.stdin
        assert stdin is not None
        stdin.write(lines_of(captures["capture.jsonl"], 500))
        stdin.flush()
        run.read(until="<stdin> ")  # reading
        run.interrupt()
        status, out, err = run.finish()
    assert status == 130
    assert out == ""
    assert "Traceback" not in err
    assert err.count("\n") == 1
    [line] = visible_lines(err)
    if not fmt:
        assert line == "ccproto validate: interrupted"
        return
    report = json.loads(out_file.read_text(encoding="utf-8"))
    assert report["interrupted"] is True
    assert 0 <= report["summary"]["records"] <= 500
    assert line == (f"ccproto validate: interrupted; partial report ({report['summary']['records']} records) "
                    f"written to {out_file}")


@pytest.mark.parametrize("mode", ["two-files", "sharded"])
def test_ctrl_c_with_jobs(tmp_path: Path, captures: dict[str, Path], mode: str) -> None:
    """A worker reads a FIFO that never ends: Ctrl-C comes while the workers work; none prints a traceback."""
    fifo = tmp_path / "endless.jsonl"
    os.mkfifo(fifo)
    files = [str(captures["capture.jsonl"]), str(fifo)] if mode == "two-files" else [str(fifo)]
    with on_terminal("validate", "--jobs", "2", *files) as run:
        writer = open_for_writing(fifo)  # only once a process opened it for reading: the run has begun
        try:
            os.write(writer, lines_of(captures["capture.jsonl"], 50))
            run.interrupt()
            status, out, err = run.finish()
        finally:
            os.close(writer)
    assert (status, out) == (130, "")
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert visible_lines(err) == ["ccproto validate: interrupted"]


def open_for_writing(fifo: Path) -> int:
    """Open a FIFO for writing once a reader has it open (without blocking this test forever)."""
    import time

    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
