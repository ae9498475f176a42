"""Readings of the seed's inconsistencies for the control destination, in one place.

Each constant here is documented in ``docs/quirks.md``; change the reading here
and nothing else needs to move.
"""

from __future__ import annotations

from ccproto.core.decoding import similar_name

#: Header keys some peers use on responses (the seed's serverstatus response
#: spells them so) -> the canonical key.  Accepted on every response; written
#: canonically; reported as a warning (an error under strict inbound checking).
ALTERNATE_RESPONSE_HEADER_KEYS: dict[str, str] = {
    "cti.result": "result",
    "error.message": "errorMessage",
}

#: Warning code for an alternate spelling.
ALTERNATE_SPELLING = "alternate-spelling"

#: Warning code for an agentinfo response with neither ``full-name`` nor both
#: ``first-name`` and ``last-name`` (the seed's name rule cannot produce a name).
AGENT_NAME_MISSING = "agent-name-missing"


def misspelled_name(name: str, known: frozenset[str]) -> str | None:
    """The known name ``name`` was probably meant to be (``core.decoding.similar_name``), or ``None``.

    Names that differ only by whitespace or case match first, then near misses (``difflib``). The seed
    writes ``cti.request. createsession`` (with a space) once: such a name is an error, and the error's
    hint names the right one.
    """
    return similar_name(name, known)
