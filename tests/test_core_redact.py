"""Redaction of secret-keyed values in JSON values and in raw (possibly broken) text."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ccproto.bridge.models  # noqa: F401  (declares agentPassword & co. as secret)
from ccproto.core.redact import REDACTED, is_secret_key, redact, redact_text, register_secret_key, secret_keys

CANARY = "hunter2-canary"


def test_builtin_and_declared_secret_keys() -> None:
    for key in ("password", "token", "session_key", "sessionKey"):
        assert is_secret_key(key)
        assert key in secret_keys()
    # Declared with wire(..., secret=True) in the bridge models.
    assert is_secret_key("agentPassword")
    assert is_secret_key("requestingAgentPassword")
    assert not is_secret_key("agentId")
    assert not is_secret_key("Password")
    assert isinstance(secret_keys(), frozenset)


def test_redact_at_any_depth() -> None:
    value = {
        "header": {"requestId": "r1"},
        "body": {
            "agentPassword": CANARY,
            "agentId": "a1",
            "nested": [{"password": CANARY}, [{"token": {"deep": CANARY}}], "keep"],
        },
        "password": [CANARY, CANARY],
    }
    original = json.loads(json.dumps(value))
    result = redact(value)
    assert result == {
        "header": {"requestId": "r1"},
        "body": {
            "agentPassword": REDACTED,
            "agentId": "a1",
            "nested": [{"password": REDACTED}, [{"token": REDACTED}], "keep"],
        },
        "password": REDACTED,
    }
    assert CANARY not in json.dumps(result)
    # A copy: the input is untouched.
    assert value == original


def test_redact_leaves_non_secret_values_and_scalars() -> None:
    assert redact(5) == 5
    assert redact("password") == "password"
    assert redact(None) is None
    assert redact(["password", {"a": 1}]) == ["password", {"a": 1}]
    assert redact(("x", {"token": 1})) == ["x", {"token": REDACTED}]


@pytest.mark.parametrize(
    "text",
    [
        '{"agentPassword":"x"}',
        '{"agentPassword" : "x"}',
        '{"agentPassword"\n:\t"x"}',
        '{"a":1,"agentPassword":"x","b":2}',
    ],
)
def test_redact_text_simple(text: str) -> None:
    result = redact_text(text.replace('"x"', f'"{CANARY}"'))
    assert CANARY not in result
    assert REDACTED in result
    assert json.loads(result)["agentPassword"] == REDACTED


def test_redact_text_keeps_the_rest() -> None:
    text = '{"agentId":"a1","agentPassword":"' + CANARY + '","sessionId":"s1"}'
    assert redact_text(text) == '{"agentId":"a1","agentPassword":"***","sessionId":"s1"}'


def test_redact_text_escaped_quotes_in_value() -> None:
    text = r'{"agentPassword":"a\"b,c}' + CANARY + r'\\","next":"visible"}'
    result = redact_text(text)
    assert CANARY not in result
    assert json.loads(result) == {"agentPassword": REDACTED, "next": "visible"}


@pytest.mark.parametrize("number", ["12345", "-1.5e3", "true", "null"])
def test_redact_text_unquoted_scalars(number: str) -> None:
    result = redact_text('{"token": ' + number + ',"b":1}')
    assert json.loads(result) == {"token": REDACTED, "b": 1}
    result = redact_text('{"token":' + number + "}")
    assert json.loads(result) == {"token": REDACTED}


@pytest.mark.parametrize(
    "text",
    [
        '{"agentPassword":"' + CANARY,
        '{"agentPassword": "' + CANARY + r"\"still" + CANARY,
        '{"a":"b","agentPassword":' + "12345678",
        '[{"password":"' + CANARY + "\n" + CANARY,
    ],
)
def test_redact_text_truncated_inside_value(text: str) -> None:
    result = redact_text(text)
    assert CANARY not in result
    assert "12345678" not in result
    assert REDACTED in result


def test_redact_text_many_occurrences_and_keys() -> None:
    text = json.dumps(
        [{"password": CANARY + "1"}, {"token": CANARY + "2"}, {"sessionKey": CANARY + "3", "x": "password"}]
    )
    result = redact_text(text)
    assert CANARY not in result
    assert json.loads(result) == [
        {"password": REDACTED},
        {"token": REDACTED},
        {"sessionKey": REDACTED, "x": "password"},
    ]


def test_redact_text_does_not_touch_similar_keys_or_values() -> None:
    text = '{"mypassword":"keep1","password_hint":"keep2","a":"password","b":"token:keep3"}'
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        '{"token":["' + CANARY + '1","' + CANARY + '2"],"b":1}',
        '{"token":{"a":"' + CANARY + '1","b":"' + CANARY + '2"},"b":1}',
    ],
    ids=["array", "object"],
)
def test_redact_text_structured_secret_values_do_not_leak(text: str) -> None:
    # A secret member whose value is an array or object must not leak any of it (redact() hides it all).
    assert CANARY not in json.dumps(redact(json.loads(text)))
    assert CANARY not in redact_text(text)


def test_register_secret_key_extends_redaction() -> None:
    key = "ccprotoRedactTestKey"
    text = '{"' + key + '":"' + CANARY + '"}'
    assert not is_secret_key(key)
    assert redact({key: CANARY}) == {key: CANARY}
    assert CANARY in redact_text(text)  # also primes the cached pattern
    register_secret_key(key)
    assert is_secret_key(key)
    assert key in secret_keys()
    assert redact({"x": [{key: CANARY}]}) == {"x": [{key: REDACTED}]}
    assert CANARY not in redact_text(text)
    assert json.loads(redact_text(text)) == {key: REDACTED}
    # Registering again is harmless.
    register_secret_key(key)
    assert redact_text(text) == '{"' + key + '":"***"}'


def test_register_secret_key_with_regex_metacharacters() -> None:
    key = "ccproto.test+key(1)"
    register_secret_key(key)
    assert redact_text('{"' + key + '":"' + CANARY + '"}') == '{"' + key + '":"***"}'
    # The dot is literal: a similar key is not redacted.
    assert CANARY in redact_text('{"ccprotoXtest+key(1)":"' + CANARY + '"}')


secret_text = st.text(st.characters(codec="utf-8"), max_size=20)


@given(secret=secret_text, other=secret_text)
def test_redact_text_of_dumped_json_never_leaks(secret: str, other: str) -> None:
    marker = "\x00" + secret + "\x01"  # make it distinctive so we can search for it
    text = json.dumps({"other": other, "agentPassword": marker, "z": [1]})
    result = redact_text(text)
    assert json.loads(result) == {"other": other, "agentPassword": REDACTED, "z": [1]}
    assert json.dumps(marker)[1:-1] not in result
