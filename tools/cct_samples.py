#!/usr/bin/env python3
"""Write the bundled CCT samples: a SOAP client's calls as a browser's DevTools exports them (HAR).

    python3 tools/cct_samples.py            # writes them
    python3 tools/cct_samples.py --check    # exit 1 if the files on disk differ from what it would write

* ``examples/captures/cct-clean.har``: a client logs in, subscribes two listeners, probes
  (``MetricsService.GetLicenseConsumedCount``) every minute, meets a failover (a probe answered with
  ``SessionNotCreatedException``), logs in again, subscribes both again, renews one (the new subscription
  first, then the old one unsubscribed) and logs off.  ``ccproto validate`` finds nothing.
* ``examples/captures/cct-faulty.har``: the same story with each of the six capture duties of
  ``ccproto.cct.duties.Duty`` broken once: a renewal that unsubscribes the old subscription first, a silence
  bridged by ``GetVersion`` alone, a silence with nothing at all, a probe after the failover before logging in
  again, one listener of two subscribed again, and no logoff.  ``ccproto validate`` names each code once.

The envelopes are SOAP 1.1 with the catalogue's request and response elements (``ccproto.cct.catalogue``) and
nothing of the payload beyond what ``ccproto.cct.soap`` reads: the session token as ``ssoToken/token`` and a
``SessionNotCreatedException`` fault's detail.  The element content is not public, so none is made up.  The
requests carry (fake) credentials where a report must never show them: a cookie, an ``Authorization`` header, a
token in the URL's query, the session token in the XML.  Times are fixed: the output is the same every run.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccproto.cct.catalogue import FAULTS_NS, TYPES_NS, Operation, QName, service
from ccproto.cct.soap import SOAP11_NS, SSO_TOKEN_LOCAL_NAME, TOKEN_ELEMENT

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "examples" / "captures"
CLEAN = CAPTURES / "cct-clean.har"
FAULTY = CAPTURES / "cct-faulty.har"

#: The first call's start: 2027-03-01T09:00:00Z.
T0 = datetime.datetime(2027, 3, 1, 9, 0, 0, tzinfo=datetime.UTC).timestamp()
#: How long each call takes, in milliseconds.
ROUND_TRIP_MS = 35.0
ENDPOINT = "https://cct.acme.example:9443"
#: Fake credentials a report must never show.
URL_TOKEN = "sample-cct-url-token-61d3"
COOKIE = "JSESSIONID=sample-cct-cookie-secret-0f4e"
AUTHORIZATION = "Basic c2FtcGxlLWNjdC1hdXRoLXNlY3JldA=="
SSO_TOKENS = ("sample-sso-token-first-7c2a", "sample-sso-token-second-93be")

LOGIN = service("SessionService").operation("LogInToCCTServer")
LOGOFF = service("SessionService").operation("LogOffFromCCTServer")
PROBE = service("MetricsService").operation("GetLicenseConsumedCount")
VERSION = service("MetricsService").operation("GetVersion")
SUBSCRIBE = service("NotificationProducer").operation("Subscribe")
UNSUBSCRIBE = service("NotificationProducer").operation("Unsubscribe")
SESSION_NOT_CREATED = QName(namespace=FAULTS_NS, local="SessionNotCreatedException")


# -- envelopes ----------------------------------------------------------------------------------------------


def _envelope(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="{SOAP11_NS}">'
            f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>")


def _element(name: QName, token: str | None = None) -> str:
    if token is None:
        return f'<m:{name.local} xmlns:m="{name.namespace}"/>'
    assert TOKEN_ELEMENT.namespace == TYPES_NS
    return (f'<m:{name.local} xmlns:m="{name.namespace}" xmlns:t="{TYPES_NS}">'
            f"<m:{SSO_TOKEN_LOCAL_NAME}><t:{TOKEN_ELEMENT.local}>{token}</t:{TOKEN_ELEMENT.local}>"
            f"</m:{SSO_TOKEN_LOCAL_NAME}></m:{name.local}>")


def request(op: Operation, token: str | None) -> str:
    """The request of ``op``; a call on a session carries its token (a login and ``GetVersion`` do not)."""
    return _envelope(_element(op.request, None if op in (LOGIN, VERSION) else token))


def response(op: Operation, token: str | None = None) -> str:
    """The response of ``op`` (an empty Body when its output message has no part); a login's holds the token."""
    if op.response is None:
        return _envelope("")
    return _envelope(_element(op.response, token if op == LOGIN else None))


def session_not_created() -> str:
    """The fault a call on a session the server does not know gets (SOAP 1.1: HTTP 500)."""
    return _envelope(
        "<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>the session does not exist</faultstring>"
        f'<detail><f:{SESSION_NOT_CREATED.local} xmlns:f="{SESSION_NOT_CREATED.namespace}"/></detail>'
        "</soapenv:Fault>"
    )


# -- HAR entries --------------------------------------------------------------------------------------------


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def entry(at: float, op: Operation, sent: str, answer: str, *, status: int = 200, base64_body: bool = False
          ) -> dict[str, Any]:
    """A DevTools HAR entry of one SOAP call started ``at`` seconds after :data:`T0`."""
    mime = "text/xml; charset=UTF-8"
    content: dict[str, Any] = {"size": len(answer.encode("utf-8")), "mimeType": mime}
    if base64_body:
        content.update(text=base64.b64encode(answer.encode("utf-8")).decode("ascii"), encoding="base64")
    else:
        content["text"] = answer
    path = op.service
    return {
        "_resourceType": "xhr",
        "cache": {},
        "pageref": "page_1",
        "request": {
            "method": "POST",
            "url": f"{ENDPOINT}/{path}?client=desk&token={URL_TOKEN}",
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Content-Type", "value": mime},
                {"name": "SOAPAction", "value": f'"{op.soap_action}"'},
                {"name": "Cookie", "value": COOKIE},
                {"name": "Authorization", "value": AUTHORIZATION},
            ],
            "queryString": [{"name": "client", "value": "desk"}, {"name": "token", "value": URL_TOKEN}],
            "cookies": [{"name": "JSESSIONID", "value": COOKIE.split("=", 1)[1], "path": "/", "httpOnly": True}],
            "headersSize": -1,
            "bodySize": len(sent.encode("utf-8")),
            "postData": {"mimeType": mime, "text": sent},
        },
        "response": {
            "status": status,
            "statusText": "OK" if status == 200 else "Internal Server Error",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": mime}],
            "cookies": [],
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": content["size"],
        },
        "serverIPAddress": "192.0.2.44",
        "startedDateTime": _iso(T0 + at),
        "time": ROUND_TRIP_MS,
        "timings": {"blocked": 0.2, "dns": -1, "ssl": -1, "connect": -1, "send": 0.1,
                    "wait": ROUND_TRIP_MS - 0.4, "receive": 0.1},
    }


class Story:
    """The calls of one client, in order; each method adds one call answered as named."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.token: str | None = None

    def login(self, at: float, token: str) -> None:
        self.entries.append(entry(at, LOGIN, request(LOGIN, None), response(LOGIN, token)))
        self.token = token

    def call(self, at: float, op: Operation, **options: Any) -> None:
        self.entries.append(entry(at, op, request(op, self.token), response(op), **options))

    def gone(self, at: float, op: Operation) -> None:
        """A call answered with ``SessionNotCreatedException`` (the failover lost the session)."""
        self.entries.append(entry(at, op, request(op, self.token), session_not_created(), status=500))

    def document(self) -> dict[str, Any]:
        return {"log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "pages": [{"startedDateTime": _iso(T0 - 2), "id": "page_1", "title": f"{ENDPOINT}/desk",
                       "pageTimings": {"onContentLoad": 150.0, "onLoad": 320.0}}],
            "entries": self.entries,
        }}


def _first_session(story: Story) -> None:
    story.login(0, SSO_TOKENS[0])
    story.call(1, SUBSCRIBE)
    story.call(2, SUBSCRIBE)


def clean() -> dict[str, Any]:
    """The clean story (see the module's docstring): no finding."""
    story = Story()
    _first_session(story)
    for at in (60, 120, 180):
        story.call(at, PROBE)
    story.call(200, VERSION, base64_body=True)  # harmless: probes keep the session alive around it
    story.gone(240, PROBE)  # the failover
    story.login(245, SSO_TOKENS[1])
    story.call(246, SUBSCRIBE)
    story.call(247, SUBSCRIBE)
    story.call(300, PROBE)
    story.call(360, SUBSCRIBE)  # renewal: the new subscription first ...
    story.call(361, UNSUBSCRIBE)  # ... then the old one
    story.call(420, PROBE)
    story.call(480, LOGOFF)
    return story.document()


def faulty() -> dict[str, Any]:
    """The faulty story: each of the six duties broken once (tests/test_cct_validate.py names the records)."""
    story = Story()
    _first_session(story)
    story.call(60, PROBE)
    story.call(90, UNSUBSCRIBE)  # old-subscription-dropped-first: the old one unsubscribed ...
    story.call(91, SUBSCRIBE)  # ... before its replacement
    story.call(120, PROBE)
    story.call(300, VERSION, base64_body=True)
    story.call(500, VERSION)
    story.call(780, PROBE)  # getversion-only-keep-alive: 660 s since the last probe, GetVersion alone between
    story.call(840, PROBE)
    story.call(1500, PROBE)  # session-silent-past-timeout: 660 s with nothing, two subscriptions held
    story.gone(1560, PROBE)  # the failover
    story.gone(1565, PROBE)  # call-without-session: a probe before logging in again
    story.login(1570, SSO_TOKENS[1])
    story.call(1571, SUBSCRIBE)  # not-resubscribed: one of the two listeners only
    story.call(1630, PROBE)
    story.call(1690, PROBE)  # session-not-logged-off: the capture ends with the session held
    return story.document()


def render(document: dict[str, Any]) -> bytes:
    """The HAR file's bytes (pretty-printed, as DevTools writes it)."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


SAMPLES: dict[Path, Callable[[], dict[str, Any]]] = {CLEAN: clean, FAULTY: faulty}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ from what would be written")
    args = parser.parse_args(argv)
    stale = []
    for path, make in SAMPLES.items():
        data = render(make())
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path)
        else:
            path.write_bytes(data)
    for path in stale:
        print(f"{path.relative_to(ROOT)} differs from what tools/cct_samples.py writes: run it", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
