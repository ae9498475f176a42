"""What the Dask tests' workers import (tests/ is put on their PYTHONPATH): a checker factory that kills the worker
running it, once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ccproto.capture.validator import CHECKERS


class KillsItsWorkerOnce:
    """A checker factory for one protocol: the registered checker, except that the first worker to check record
    ``at`` of any connection dies on the spot (``os._exit``), once per ``marker`` file."""

    def __init__(self, protocol: str, marker: str, at: int) -> None:
        self.protocol, self.marker, self.at = protocol, marker, at

    def __call__(self, **options: Any) -> Any:
        checker = CHECKERS[self.protocol](**options)
        original = checker.check
        marker, at = Path(self.marker), self.at

        def check(record: Any) -> Any:
            if record.number >= at and not marker.exists():
                marker.write_text(str(os.getpid()), encoding="utf-8")
                os._exit(17)  # the worker process dies mid-task, as a killed machine would
            return original(record)

        checker.check = check
        return checker
