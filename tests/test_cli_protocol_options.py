"""Options the CLI takes from the protocol registry: a checker's settings (``--<protocol>-<option>``) and the
protocols ``serve`` and ``conformance`` can put on a socket (those with reference peers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccproto.cli import SERVED_PROTOCOL_NAMES, main
from ccproto.core.protocol import CheckerOption, positive_seconds
from ccproto.protocols import get

ROOT = Path(__file__).resolve().parent.parent
FAULTY = ROOT / "examples" / "captures" / "cct-faulty.har"
GAP_CODES = {"session-silent-past-timeout", "getversion-only-keep-alive"}


def codes(out: str) -> list[str]:
    return sorted(finding["code"] for finding in json.loads(out)["findings"])


@pytest.mark.parametrize("text", ["0", "-5", "inf", "nan", "soon", ""])
def test_positive_seconds_refuses_what_is_not_a_positive_finite_number(text: str) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        positive_seconds(text)


def test_positive_seconds_reads_a_number() -> None:
    assert positive_seconds("7200") == 7200.0
    assert positive_seconds("0.5") == 0.5


def test_a_checker_option_is_named_after_its_protocol_and_keyword() -> None:
    option = CheckerOption(keyword="session_timeout", help="", parse=positive_seconds)
    assert option.flag("cct") == "--cct-session-timeout"
    assert [o.keyword for o in get("cct").checker_options] == ["session_timeout"]


def test_the_help_of_validate_lists_the_checker_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    assert "--cct-session-timeout SECONDS" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["0", "-1", "never"])
def test_a_bad_checker_option_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate", "--cct-session-timeout", value, str(FAULTY)])
    assert exited.value.code == 2
    assert "--cct-session-timeout" in capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_checker_option_reaches_the_checker_in_every_process(jobs: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", "--jobs", jobs, str(FAULTY)]) == 1
    assert set(codes(capsys.readouterr().out)) >= GAP_CODES
    assert main(["validate", "--format", "json", "--jobs", jobs, "--cct-session-timeout", "700", str(FAULTY)]) == 1
    assert not GAP_CODES & set(codes(capsys.readouterr().out))


def test_serve_and_conformance_offer_only_protocols_with_reference_peers(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(SERVED_PROTOCOL_NAMES) == ["bridge", "processor", "cceb"]
    assert "cct" not in SERVED_PROTOCOL_NAMES
    for argv in (["serve", "cct"], ["conformance", "--protocol", "cct", "--role", "client", "ws://localhost:1"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
        assert "invalid choice: 'cct'" in capsys.readouterr().err
