"""CCT's SOAP calls as the layers above see it (:class:`~ccproto.core.protocol.ProtocolSpec`)."""

from __future__ import annotations

from typing import Any

from ccproto.cct.config import DEFAULT_SESSION_TIMEOUT
from ccproto.cct.soap import SoapMessage, read_soap
from ccproto.core.protocol import CheckerOption, ProtocolSpec, positive_seconds

__all__ = ["PROTOCOL"]


def _decode(data: str | bytes) -> SoapMessage:
    # The codec of a capture record's text: which operation, request or response or fault (no payload beyond it).
    return read_soap(data)


def _recognizes(message: dict[str, Any]) -> bool:
    # A CCT record holds XML text, never a JSON message: its record names the protocol (a HAR's SOAP entry does).
    return False


#: CCT's descriptor (registered in :mod:`ccproto.protocols`).
PROTOCOL = ProtocolSpec(
    name="cct",
    description="Avaya CCT SOAP calls",
    transport="http",
    decode=_decode,
    recognizes=_recognizes,
    checker="ccproto.cct.checker:CctClientChecker",
    testing="ccproto.testing.slices.cct:SLICE",
    checker_options=(
        CheckerOption(
            keyword="session_timeout", parse=positive_seconds, metavar="SECONDS",
            help="the CCT server's session timeout, which a client's silence must not reach (default "
            f"{DEFAULT_SESSION_TIMEOUT:g}: the best practice's 5-10 min; Avaya's default is 7200)",
        ),
    ),
)
