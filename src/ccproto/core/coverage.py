"""Protocol coverage: which message types and state transitions a capture exercised, and which it never did.

Each protocol's checker declares everything there is to exercise (its
universe: labels generated from its models and transition tables) and notes
every label a valid record exercised.  Only records the state machine
accepted count: an error exercises nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = ["Coverage", "ProtocolCoverage"]


@attrs.define
class ProtocolCoverage:
    """One protocol's universe (category -> every label) and what was exercised (label -> count)."""

    universe: dict[str, tuple[str, ...]] = attrs.Factory(dict)
    hits: dict[str, Counter[str]] = attrs.Factory(dict)

    def exercised(self, category: str) -> list[tuple[str, int]]:
        """Labels of ``category`` exercised, with counts: the universe's order, then labels outside it."""
        counts = self.hits.get(category, Counter())
        known = self.universe.get(category, ())
        inside = [(label, counts[label]) for label in known if counts[label]]
        outside = sorted((label, n) for label, n in counts.items() if label not in known)
        return inside + outside

    def missed(self, category: str) -> list[str]:
        """Labels of ``category`` never exercised."""
        counts = self.hits.get(category, Counter())
        return [label for label in self.universe.get(category, ()) if not counts[label]]

    def to_json(self) -> dict[str, Any]:
        """``{category: {"exercised": {label: count}, "missed": [label], "total": n}}``."""
        return {
            category: {
                "exercised": dict(self.exercised(category)),
                "missed": self.missed(category),
                "total": len(labels),
            }
            for category, labels in self.universe.items()
        }


@attrs.define
class Coverage:
    """Coverage of every protocol seen in one or more captures."""

    protocols: dict[str, ProtocolCoverage] = attrs.Factory(dict)

    def declare(self, protocol: str, universe: Mapping[str, Sequence[str]]) -> None:
        """Say what ``protocol`` has to exercise (the first declaration of a protocol wins)."""
        if protocol not in self.protocols:
            self.protocols[protocol] = ProtocolCoverage(
                universe={category: tuple(labels) for category, labels in universe.items()}
            )

    def hit(self, protocol: str, category: str, label: str) -> None:
        """Note that a record exercised ``label``."""
        coverage = self.protocols.setdefault(protocol, ProtocolCoverage())
        coverage.hits.setdefault(category, Counter())[label] += 1

    def merge(self, other: Coverage) -> None:
        """Add another run's coverage (``--jobs``: one report for several files)."""
        for protocol, theirs in other.protocols.items():
            self.declare(protocol, theirs.universe)
            ours = self.protocols[protocol]
            for category, counts in theirs.hits.items():
                ours.hits.setdefault(category, Counter()).update(counts)

    def to_json(self) -> dict[str, Any]:
        """The ``coverage`` member of the ``--format json`` report."""
        return {protocol: self.protocols[protocol].to_json() for protocol in sorted(self.protocols)}
