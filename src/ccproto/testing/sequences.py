"""Hypothesis strategies for whole conversations: walks of a protocol's transition tables.

A conversation is a sequence of :class:`Step` (who sent which message, or who
closed the connection, and when) that the protocol's connection objects of
both roles accept, and that ``ccproto validate`` finds no error in.  It is
valid by construction: at each step the walker lists the table entries the
current state enables (and, for answers, only those it can build now: a
response needs an outstanding request, an ack something in flight, ...),
draws one, draws the message's fields from :mod:`ccproto.testing.strategies`
and then fixes what correlates it with earlier messages.  Nothing is filtered
or rejected, and every choice is an integer draw, so examples shrink well
(shorter conversations, earlier table entries, smaller time steps).

This module is the engine every protocol shares and names no protocol: each
protocol's walker (a :class:`Walker` subclass) lives in its testing slice
(``ccproto.testing.slices``), which names it in ``conversations``, and
:func:`conversations` finds it through the protocol registry.

Each accepted step is also fed to an observer connection (``sticky_errors``):
if it refuses a step, the walker has a bug, and the error propagates.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from ccproto.core.jsonio import JsonValue
from ccproto.core.limits import DEFAULT_LIMITS
from ccproto.core.model import Model, model_spec
from ccproto.core.protocol import resolve
from ccproto.core.roles import Role
from ccproto.testing.slices import slice_of
from ccproto.testing.strategies import EXTRA_PREFIX, Numbers, field_strategy, model_extras, obey_rules, text

__all__ = [
    "COMMON",
    "RARE",
    "UNKNOWN_NAMES",
    "Conversation",
    "Move",
    "Step",
    "Transition",
    "Walker",
    "choose",
    "conversations",
    "draw_model",
    "field_values",
    "fresh_id",
    "pick",
    "walker_of",
]

#: A table entry a step exercised: ``(table name, key)``.  Table names are those of the protocol's ``states``
#: module (``"PHASE_TRANSITIONS"``, ...) with the table's own key; a walker may record entries of its own
#: (its slice's module says which).
Transition = tuple[str, tuple[Any, ...]]

#: Largest pause between two steps, in milliseconds (less when something outstanding would expire).
MAX_PAUSE_MS = 2000
#: Largest start time drawn (epoch seconds): captures carry real times.
MAX_START = 2_000_000_000

_T = TypeVar("_T")
_M = TypeVar("_M", bound=Model)


@attrs.frozen(kw_only=True)
class Step:
    """One thing that crossed a connection: ``sender``'s ``message``, or ``sender`` closing the connection.

    ``message`` is ``None`` for a close, and ``close`` is then ``(code, reason)``.
    ``now`` is in seconds and never decreases along a conversation.  The repr
    is the model's, which never shows secrets.
    """

    sender: Role
    message: Model | None
    close: tuple[int | None, str] | None = None
    now: float


@attrs.frozen(kw_only=True)
class Conversation:
    """A valid conversation of one protocol, as drawn by :func:`conversations`.

    ``transitions`` lists, step by step, the table entries each accepted step
    exercised (see :data:`Transition`).
    """

    protocol: str
    steps: tuple[Step, ...]
    transitions: tuple[Transition, ...] = attrs.field(default=(), repr=False)

    def records(self, conn: str = "conversation", *, opened: bool = True) -> list[dict[str, JsonValue]]:
        """The conversation as capture records (``ccproto validate``'s JSON Lines records), one per step.

        With ``opened`` an open record comes first (at the first step's time): the conversation is the whole
        connection, so ``ccproto validate`` never reads it as joined mid-conversation.  The records hold the
        messages as they cross the wire, secrets included: they are test data.
        """
        encode = walker_of(self.protocol).encode_value
        found: list[dict[str, JsonValue]] = []
        if opened:
            start = self.steps[0].now if self.steps else 0.0
            found.append({"ts": start, "conn": conn, "from": "client", "protocol": self.protocol, "open": {}})
        for step in self.steps:
            record: dict[str, JsonValue] = {
                "ts": step.now, "conn": conn, "from": step.sender.value, "protocol": self.protocol,
            }
            if step.message is not None:
                record["message"] = encode(step.message)
            else:
                code, reason = step.close if step.close is not None else (None, "")
                record["close"] = {"reason": reason} if code is None else {"code": code, "reason": reason}
            found.append(record)
        return found

    def jsonl(self, conn: str = "conversation", *, opened: bool = True) -> str:
        """The records as JSON Lines text (ASCII-only JSON, so no character can split a line)."""
        return "".join(
            json.dumps(record, ensure_ascii=True, separators=(",", ":"), allow_nan=False) + "\n"
            for record in self.records(conn, opened=opened)
        )


# -- what every walk shares ----------------------------------------------------------------

#: A possible next step: given the draw function and the time, build it, have it observed and return it.
Move = Callable[[st.DrawFn, float], Step]
#: Weight of the moves that end a conversation (a goodbye, a close) against the others: conversations run longer.
RARE, COMMON = 1, 8
#: Names (of commands, events, notification types...) no registry knows: the extension prefix keeps them apart
#: from registered ones.
UNKNOWN_NAMES = text(max_size=12).map(lambda name: EXTRA_PREFIX + name)

#: Fields holding an id drawn from a pattern: drawn as UUIDs (in either case) instead, which is much faster than
#: generating from the regular expression and yields the same values (8-4-4-4-12 hexadecimal digits).
_ID_FIELDS = frozenset({"uuid", "request_id"})
_IDS = st.tuples(st.uuids(), st.booleans()).map(lambda pair: str(pair[0]).upper() if pair[1] else str(pair[0]))
_PARTS: dict[tuple[type[Model], frozenset[str]], st.SearchStrategy[dict[str, Any]]] = {}


def _parts(cls: type[Model], fixed: frozenset[str]) -> st.SearchStrategy[dict[str, Any]]:
    """The keyword arguments of ``cls`` but ``fixed`` ones (and ``extra``), each from the field's own strategy."""
    key = (cls, fixed)
    if key not in _PARTS:
        fields = {
            field.attr: _IDS if field.attr in _ID_FIELDS else field_strategy(field, Numbers.INTEROPERABLE)
            for field in model_spec(cls).fields
            if field.attr not in fixed
        }
        _PARTS[key] = st.fixed_dictionaries(fields)
    return _PARTS[key]


_EXTRAS: dict[type[Model], st.SearchStrategy[dict[str, Any]]] = {}


def _extra_members(cls: type[Model]) -> st.SearchStrategy[dict[str, Any]]:
    # Built once per class: building (and validating) a strategy costs more than drawing from it.
    if cls not in _EXTRAS:
        _EXTRAS[cls] = model_extras(cls, Numbers.INTEROPERABLE)
    return _EXTRAS[cls]


def field_values(cls: type[Model], attr: str) -> st.SearchStrategy[Any]:
    """The values of ``cls``'s field ``attr`` (interoperable numbers), drawn alone."""
    return field_strategy(next(f for f in model_spec(cls).fields if f.attr == attr), Numbers.INTEROPERABLE)


@functools.cache
def _below(total: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=total - 1)


def draw_model(draw: st.DrawFn, cls: type[_M], **fixed: Any) -> _M:
    """An instance of ``cls`` with ``fixed`` fields as given and the others drawn (unknown ``x-`` members too).

    The fields that correlate a message with earlier ones are given rather than drawn and replaced: drawing
    values only to throw them away would cost time and make shrinking wander.  One message in four carries
    unknown members (they cost the most to draw; shrinking drops them).
    """
    kwargs = draw(_parts(cls, frozenset(fixed)))
    extra = draw(_extra_members(cls)) if choose(draw, [(3, False), (1, True)]) else {}
    instance = cls(**kwargs, **fixed, extra=extra)
    if model_spec(cls).rules:
        instance = obey_rules(instance, draw(st.data()))  # type: ignore[assignment]
    return instance


def choose(draw: st.DrawFn, options: Sequence[tuple[int, _T]]) -> _T:
    """One of ``options`` (weighted); an integer draw, so shrinking moves toward the first option."""
    assert options
    total = sum(weight for weight, _ in options)
    pick = draw(_below(total))
    for weight, option in options:
        if pick < weight:
            return option
        pick -= weight
    raise AssertionError("unreachable")  # pragma: no cover


def pick(draw: st.DrawFn, options: Sequence[_T]) -> _T:
    """One of ``options``, equally likely (shrinks toward the first)."""
    return choose(draw, [(1, option) for option in options])


def fresh_id(drawn: str, taken: Callable[[str], bool], serial: int) -> str:
    """``drawn`` unless it is taken (hypothesis likes repeating values); then a GUID of our own that is not."""
    candidate, n = drawn, serial
    while taken(candidate):
        candidate = f"00000000-0000-4000-8000-{n:012x}"
        n += 1
    return candidate


class Walker:
    """The state of one walk: the observer, the transitions exercised, a counter for fresh ids.

    A protocol's walker subclasses it in the protocol's testing slice (which names the class in its
    ``conversations``); :func:`conversations` makes one per conversation, so a walker may keep state along its
    walk.  It provides :meth:`moves` (the steps its transition tables enable now: each builds a valid message,
    feeds it to an observer connection of the protocol, records the table entries it exercised in
    ``transitions`` and returns its :class:`Step`), :meth:`deadline` (from the observer's timer) and
    :meth:`encode_value` (its codec's, for :meth:`Conversation.records`).
    """

    def __init__(self) -> None:
        self.transitions: list[Transition] = []
        self.serial = 0

    @staticmethod
    def encode_value(message: Any) -> dict[str, Any]:
        """``message`` as the JSON value that crosses the wire (the protocol codec's ``encode_value``)."""
        raise NotImplementedError

    def moves(self) -> list[tuple[int, Move]]:
        """The steps enabled now, weighted (empty: the conversation is over)."""
        raise NotImplementedError

    def deadline(self) -> float | None:
        """When the oldest outstanding item would expire (time must stay before it)."""
        raise NotImplementedError

    def next_serial(self) -> int:
        """A number never used before in this walk (for ids of our own)."""
        self.serial += 1
        return self.serial

    def weigh(self, table: str, key: tuple[Any, ...], weight: int) -> int:
        """``weight``, tripled while this walk has not exercised ``table``'s ``key`` (walks spread wider)."""
        return weight if (table, key) in self.transitions else 3 * weight

    def novel(self, draw: st.DrawFn, table: str, keys: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
        """One of ``table``'s ``keys``, those this walk has not exercised yet first and three times as likely.

        A function of the walk so far, so still valid by construction; it spreads one walk over more of a
        table, so that fewer walks exercise all of it.
        """
        done = {key for name, key in self.transitions if name == table}
        novel = [(3, key) for key in keys if key not in done]
        return choose(draw, [*novel, *((1, key) for key in keys if key in done)])


@attrs.define
class _Clock:
    """Time along a walk, in whole milliseconds after a drawn start (exact: no float sums)."""

    start: int
    elapsed_ms: int = 0

    def pause(self, draw: st.DrawFn, deadline: float | None) -> float:
        """Advance by a drawn pause that stays a millisecond short of ``deadline`` (an expiry makes answers errors)."""
        longest = MAX_PAUSE_MS
        if deadline is not None:
            longest = min(longest, int((deadline - self.start) * 1000) - 1 - self.elapsed_ms)
        longest = max(0, min(longest, int(DEFAULT_LIMITS.request_timeout * 1000) - 1))
        self.elapsed_ms += draw(_below(longest + 1))
        return self.start + self.elapsed_ms / 1000


@st.composite
def _step(draw: st.DrawFn, walker: Walker, clock: _Clock, go_on: Sequence[tuple[int, bool]]) -> Step | None:
    # One step is one nested draw, so its choices form one span: the shrinker deletes whole steps at once.
    moves = walker.moves()
    if not moves or not choose(draw, go_on):
        return None
    move = choose(draw, moves)
    return move(draw, clock.pause(draw, walker.deadline()))


def _walk(draw: st.DrawFn, protocol: str, walker: Walker, max_steps: int) -> Conversation:
    clock = _Clock(start=draw(st.integers(min_value=0, max_value=MAX_START)))
    # Whether to go on is drawn before each step (as st.lists does), not a length up front: the shrinker can then
    # delete a step by deleting its choices alone.  Going on is likelier, so walks average about max_steps / 2.
    # Stopping sits between two halves of going on: hypothesis draws the first and last options more often than
    # their weights say, and either at an edge made most walks a few steps long.
    weight = max(2, max_steps // 2 - 1)
    go_on = [(weight // 2, True), (1, False), (weight - weight // 2, True)]
    steps: list[Step] = []
    for _ in range(max_steps):
        step = draw(_step(walker, clock, go_on))
        if step is None:
            break
        steps.append(step)
    return Conversation(protocol=protocol, steps=tuple(steps), transitions=tuple(walker.transitions))


@st.composite
def _conversation(draw: st.DrawFn, protocol: str, walker: type[Walker], max_steps: int) -> Conversation:
    # One composite per conversation, a fresh walker each: a walker holds the state of one walk.
    return _walk(draw, protocol, walker(), max_steps)


def walker_of(protocol: str) -> type[Walker]:
    """The walker of the registered ``protocol`` (its testing slice's ``conversations``, imported on first use).

    ``ValueError`` when the protocol is unknown, has no testing slice, or its slice names no :class:`Walker`.
    """
    found = resolve(slice_of(protocol).conversations)
    if not (isinstance(found, type) and issubclass(found, Walker)):
        raise ValueError(f"the {protocol} protocol's testing slice has no walker of conversations: {found!r}")
    return found


def conversations(protocol: str, *, max_steps: int = 30) -> st.SearchStrategy[Conversation]:
    """Valid conversations of the registered ``protocol``, of at most ``max_steps`` steps.

    Walked by the protocol's :class:`Walker` (:func:`walker_of`); ``ValueError`` naming the registered protocols
    for an unknown one.
    """
    return _conversation(protocol, walker_of(protocol), max_steps)
