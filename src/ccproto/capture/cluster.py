"""Validating capture archives on a Dask cluster (``ccproto[dask]``): the only module that imports dask.

The plan is the one ``ccproto validate --jobs N`` runs in local processes (:func:`~ccproto.capture.validator.
validate_shard`, :func:`~ccproto.capture.validator.merge_shards`), as Dask tasks: shard ``k`` of ``n`` reads the
whole capture as a stream and checks the connections whose key falls in it, following the others only as far as
their lives go (times, opens and closes, the CCEB's hellos for the sessions across connections).  That is what
keeps the report identical to one process's, byte for byte: the capture clock that finishes idle connections,
the ``max_connections`` bound and the CCEB's long-lived sessions all read the whole capture in every shard.
A worker holds the checkers of its own connections and a small record per other connection; what comes back to
the client is findings, never records.  A task is a pure function of its inputs: a worker that dies has its
tasks run again elsewhere by Dask, and the report is the same.

Paths are anything fsspec opens (``s3://``, ``gs://``, ``hdfs://``, ``memory://``, ``file://``, local paths),
with glob patterns expanded in sorted order; files are JSON Lines or HAR, plain or gzip (told by content), as
locally.  Several files are each their own capture unless ``series=True`` (a rotated capture read as one).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import fsspec  # type: ignore[import-untyped]
from distributed import Client, LocalCluster, as_completed

from ccproto.capture.validator import ConnectionChecker, ShardResult, merge_shards, validate_sources
from ccproto.core.findings import Report
from ccproto.core.limits import DEFAULT_LIMITS, Limits

__all__ = ["RETRIES", "expand_paths", "open_client", "validate_on_cluster"]

#: How many times Dask runs a task again after its worker died (beyond the scheduler's own reassignments).
RETRIES = 3


@contextlib.contextmanager
def open_client(address: str, *, timeout: float = 30.0) -> Iterator[Client]:
    """A client of the scheduler at ``address`` (``tcp://host:8786``), or of a new ``LocalCluster`` of N worker
    processes (one thread each) for ``local:N``, closed (and the local cluster stopped) on exit."""
    cluster: Any = None
    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"local:N takes a number of worker processes, not {address!r}")
        # distributed's API is untyped: its calls are kept to this module.
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=int(count), threads_per_worker=1, processes=True, dashboard_address=":0")
        address = cluster.scheduler_address
    try:
        client: Client = Client(address, timeout=f"{timeout}s")  # type: ignore[no-untyped-call]
        with client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def expand_paths(paths: Sequence[str], *, storage_options: Mapping[str, Any] | None = None) -> list[str]:
    """Every file ``paths`` name, in the order given, each glob pattern expanded in sorted order (``ValueError``
    for a pattern that matches nothing: a typo must not validate nothing)."""
    found: list[str] = []
    for path in paths:
        if any(char in path for char in "*?["):
            fs, _, _ = fsspec.get_fs_token_paths(path, storage_options=dict(storage_options or {}))
            matches = sorted(fs.glob(path))
            if not matches:
                raise ValueError(f"no file matches {path!r}")
            found.extend(_unstrip(fs, path, match) for match in matches)
        else:
            found.append(path)
    return found


def _unstrip(fs: Any, pattern: str, match: str) -> str:
    # fsspec's glob gives paths without the protocol: put it back so that a worker opens the same file.
    protocol = pattern.split("://", 1)[0] if "://" in pattern else None
    return f"{protocol}://{match}" if protocol is not None and "://" not in match else match


def _open(url: str, storage_options: dict[str, Any]) -> Any:
    return fsspec.open(url, "rb", compression=None, **storage_options).open()


def _shard(
    urls: Sequence[str], shard: tuple[int, int], options: dict[str, Any], storage_options: Mapping[str, Any],
) -> ShardResult:
    """One task: shard ``shard`` of the capture ``urls`` (one capture: read as a series when there are several)."""
    # The raw bytes: read_capture tells gzip from the content, as for a local file.
    sources = [(url, functools.partial(_open, url, dict(storage_options))) for url in urls]
    return validate_sources(sources, shard=shard, series=len(urls) > 1, **options)


def validate_on_cluster(
    paths: Sequence[str],
    client: Client,
    *,
    series: bool = False,
    shards: int | None = None,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
    coverage: bool = False,
    kind: str = "auto",
    all_connections: bool = True,
    partial: bool = False,
    idle_timeouts: Mapping[str, float | None] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    on_task_done: Callable[[int, int], None] | None = None,
) -> Report:
    """Validate the captures ``paths`` (paths or fsspec URLs, globs allowed) on the Dask cluster of ``client``: the
    same :class:`~ccproto.core.findings.Report` as :func:`~ccproto.capture.validator.validate_files` in one process.

    ``series``: the files are one capture, in the order given (a rotated capture).  ``shards``: how many tasks
    check one capture, each a share of its connections (default: the cluster's worker threads).  The other options
    are the local validator's.  ``on_task_done(done, total)`` is called as tasks finish (progress).
    """
    urls = expand_paths(paths, storage_options=storage_options)
    if not urls:
        raise ValueError("no capture to validate")
    threads: dict[str, int] = client.nthreads()  # type: ignore[no-untyped-call]
    count = shards if shards is not None else max(1, sum(threads.values()))
    if count < 1:
        raise ValueError(f"shards must be at least 1, not {count}")
    # Plain data and importable classes only: the options cross to the workers.
    options: dict[str, Any] = {
        "strict": strict, "limits": limits, "checkers": None if checkers is None else dict(checkers),
        "coverage": coverage, "kind": kind, "all_connections": all_connections, "partial": partial,
        "idle_timeouts": None if idle_timeouts is None else dict(idle_timeouts),
    }
    captures = [list(urls)] if series else [[url] for url in urls]
    # Many captures: one task each is parallel enough; one capture: split it into shards.
    per_capture = count if len(captures) == 1 else 1
    futures: dict[Any, tuple[int, int]] = {}
    for index, capture in enumerate(captures):
        for k in range(per_capture):
            future = client.submit(
                _shard, capture, (k, per_capture), options, dict(storage_options or {}),
                retries=RETRIES, pure=False,
            )
            futures[future] = (index, k)
    results: dict[int, list[ShardResult | None]] = {index: [None] * per_capture for index in range(len(captures))}
    # distributed's API is untyped: its calls are kept to these lines.
    finished: Any = as_completed(list(futures))  # type: ignore[no-untyped-call]
    for done, future in enumerate(finished, start=1):
        index, k = futures[future]
        results[index][k] = future.result()
        if on_task_done is not None:
            on_task_done(done, len(futures))
    report = Report()
    for index in range(len(captures)):
        parts = [part for part in results[index] if part is not None]
        assert len(parts) == per_capture
        report.merge(merge_shards(parts) if per_capture > 1 else _sorted(parts[0].report))
    report.sort()
    return report


def _sorted(report: Report) -> Report:
    report.sort()
    return report
