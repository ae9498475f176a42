"""Validating on Dask (``ccproto[dask]``): a LocalCluster gives the one-process report, byte for byte, also when a
worker dies mid-run, for local paths, ``file://`` and ``memory://`` URLs and glob patterns."""

from __future__ import annotations

import gzip
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from distributed import Client, LocalCluster

import synthetic_captures
from ccproto.capture.cluster import expand_paths, open_client, validate_on_cluster
from ccproto.capture.output import render
from ccproto.capture.validator import CHECKERS, validate_files
from ccproto.cli import main
from ccproto.core.findings import Report
from cluster_helpers import KillsItsWorkerOnce

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
SAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples" / "captures").glob("*.jsonl")) + sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "examples" / "captures").glob("*.har"))


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    # The workers import tests/cluster_helpers.py (a checker of the tests'): tests/ on their path.
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), before]))
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                Client(cluster) as found:
            yield found
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


def as_json(report: Report) -> str:
    report.sort()
    return render(report, "json")


def one_process(paths: list[str], *, series: bool, **options: Any) -> str:
    return as_json(validate_files(paths, series=series, **options))


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A generated capture of 6,000 records in four gzip files, rotated mid-connection, with faults planted on
    both sides of every file boundary: an answer dropped, a message made invalid, one sent twice."""
    records = list(synthetic_captures.records(records=6_000, connections=120, concurrency=40, seed=7))
    folder = tmp_path_factory.mktemp("rotated")
    bounds = [0, 1_400, 2_900, 4_600, len(records)]
    planted: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        near = any(0 < abs(index - bound) <= 2 for bound in bounds[1:-1])
        if near and index % 3 == 0:
            continue  # dropped: its answer (or its request) is missing
        if near and index % 3 == 1 and "message" in record:
            planted.append({**record, "message": {**record["message"], "unexpected": {"x": [1, 2]}}})
            planted.append(record)  # and the original, sent twice
            continue
        planted.append(record)
    paths = []
    for number, (start, end) in enumerate(itertools.pairwise(bounds)):
        path = folder / f"capture.{number}.jsonl.gz"
        lines = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in planted[start:end])
        path.write_bytes(gzip.compress(lines, mtime=0))
        paths.append(str(path))
    return paths


def test_the_samples_give_the_one_process_report(client: Client) -> None:
    for series in (False, True):
        report = validate_on_cluster(SAMPLES, client, series=series)
        assert report.findings
        assert as_json(report) == one_process(SAMPLES, series=series)


def test_a_rotated_capture_with_faults_across_files_gives_the_one_process_report(
    client: Client, rotated: list[str],
) -> None:
    expected = one_process(rotated, series=True)
    assert json.loads(expected)["summary"]["errors"] > 5  # the planted faults are found
    for shards in (None, 2, 3):
        assert as_json(validate_on_cluster(rotated, client, series=True, shards=shards)) == expected
    # Each file on its own (not a series) too.
    assert as_json(validate_on_cluster(rotated, client)) == one_process(rotated, series=False)


def test_a_worker_that_dies_mid_run_loses_no_finding(client: Client, rotated: list[str], tmp_path: Path) -> None:
    marker = tmp_path / "killed"
    checkers = {**CHECKERS, "cceb": KillsItsWorkerOnce("cceb", str(marker), at=3_000)}
    report = validate_on_cluster(rotated, client, series=True, shards=2, checkers=checkers)
    assert marker.exists()  # a worker did die
    assert as_json(report) == one_process(rotated, series=True)


def test_file_urls_and_globs_read_like_local_paths(client: Client, rotated: list[str]) -> None:
    folder = Path(rotated[0]).parent
    pattern = f"file://{folder}/capture.*.jsonl.gz"
    assert expand_paths([pattern]) == [f"file://{path}" for path in rotated]
    report = validate_on_cluster([pattern], client, series=True)
    found = json.loads(as_json(report))
    expected = json.loads(one_process(rotated, series=True))
    # The same findings; the file names are the URLs read.
    for finding in found["findings"]:
        finding["file"] = finding["file"].removeprefix("file://")
    assert found["findings"] == expected["findings"]
    assert found["summary"] == expected["summary"]


def test_memory_urls_read_like_local_paths() -> None:
    # memory:// lives in one process: a cluster of threads shares it.
    memory = fsspec.filesystem("memory")
    for path in SAMPLES:
        memory.pipe(f"/samples/{Path(path).name}", (ROOT / path).read_bytes())
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as threads:
        urls = expand_paths(["memory://samples/*.jsonl"])
        assert [url.rsplit("/", 1)[1] for url in urls] == sorted(Path(p).name for p in SAMPLES if p.endswith("l"))
        report = validate_on_cluster(urls, threads, series=True)
    expected = validate_files([str(ROOT / p) for p in SAMPLES if p.endswith(".jsonl")], series=True)
    assert [f.code for f in report.findings] == [f.code for f in sorted_findings(expected)]
    assert report.records == expected.records


def sorted_findings(report: Report) -> list[Any]:
    report.sort()
    return report.findings


def test_a_glob_matching_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no file matches"):
        expand_paths(["file:///nonexistent-folder/*.jsonl"])


def test_the_cli_runs_on_a_local_cluster(capsys: pytest.CaptureFixture[str], rotated: list[str]) -> None:
    assert main(["validate", "--format", "json", "--one-capture", *rotated]) == 1
    expected = capsys.readouterr().out
    assert main(["validate", "--format", "json", "--one-capture", "--scheduler", "local:2", *rotated]) == 1
    assert capsys.readouterr().out == expected


def test_the_cli_uses_a_given_scheduler(client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", *SAMPLES]) == 1
    expected = capsys.readouterr().out
    assert main(["validate", "--format", "json", "--scheduler", client.scheduler.address, "--jobs", "3",
                 *SAMPLES]) == 1
    assert capsys.readouterr().out == expected


@pytest.mark.parametrize(("argv", "message"), [
    (["--scheduler", "local:0", "examples/captures/bridge-clean.jsonl"], "local:N"),
    (["--scheduler", "local:x", "examples/captures/bridge-clean.jsonl"], "local:N"),
    (["--scheduler", "local:1", "-"], "standard input"),
])
def test_cli_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *argv]) == 2
    assert message in capsys.readouterr().err


def test_without_dask_the_cli_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ccproto.capture.cluster", None)  # as if dask were not installed
    assert main(["validate", "--scheduler", "local:1", "examples/captures/bridge-clean.jsonl"]) == 2
    assert "pip install 'ccproto[dask]'" in capsys.readouterr().err


def test_open_client_refuses_a_bad_local_count() -> None:
    with pytest.raises(ValueError, match="local:N"), open_client("local:-1"):
        pass
