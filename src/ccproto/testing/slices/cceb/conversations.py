"""The CCEB's walker of valid conversations: walks of its connection, phone-validation and off-hook tables.

:data:`WALKER` is what the CCEB's testing slice names in ``conversations``; :func:`cceb_conversations` is
``ccproto.testing.sequences.conversations("cceb")``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
from hypothesis import strategies as st

from ccproto.cceb import codec
from ccproto.cceb import states as cceb_states
from ccproto.cceb.connection import CcebConnection
from ccproto.cceb.models import REGISTRY as CCEB_REGISTRY
from ccproto.cceb.models import (
    Ack,
    Action,
    CcebMessage,
    Hello,
    HelloReply,
    OffHook,
    OffHookState,
    PhoneValidation,
    UnknownNotification,
)
from ccproto.cceb.models import Notification as CcebNotification
from ccproto.core.roles import Role
from ccproto.testing.sequences import (
    COMMON,
    RARE,
    UNKNOWN_NAMES,
    Conversation,
    Move,
    Step,
    Walker,
    choose,
    conversations,
    draw_model,
    fresh_id,
    pick,
)
from ccproto.testing.strategies import text

__all__ = ["WALKER", "CcebWalker", "cceb_conversations"]

_State = cceb_states.ConnectionState
_CInput = cceb_states.Input

_SHORT_TEXT = text(max_size=20)
_CLOSE_CODES = st.none() | st.sampled_from([1000, 1001, 1008, 1011, 4001]) | st.integers(3000, 4999)


class CcebWalker(Walker):
    """A walk of ``CONNECTION_TRANSITIONS`` and the phase tables, observed by a :class:`CcebConnection`."""

    encode_value = staticmethod(codec.encode_value)

    def __init__(self) -> None:
        super().__init__()
        self.observer = CcebConnection(Role.SERVER)
        self.closed_by: set[Role] = set()

    def deadline(self) -> float | None:
        return self.observer.get_timer()

    def emit(self, message: CcebMessage, sender: Role, now: float) -> Step:
        observer = self.observer
        self.transitions.append(
            ("CONNECTION_TRANSITIONS", (observer.state, sender, cceb_states.input_of(message)))
        )
        if isinstance(message, PhoneValidation):
            self.transitions.append(("PHONE_VALIDATION_TRANSITIONS", (observer.phone_validation, message.state)))
        elif isinstance(message, OffHook):
            self.transitions.append(("OFF_HOOK_TRANSITIONS", (observer.off_hook, message.state)))
        observer.observe(message, sender, now=now)
        return Step(sender=sender, message=message, now=now)

    def moves(self) -> list[tuple[int, Move]]:
        state = self.observer.state
        found: list[tuple[int, Move]] = []
        closes: list[tuple[int, Move]] = []
        for key in cceb_states.CONNECTION_TRANSITIONS:
            table_state, sender, input_ = key
            if table_state is not state:
                continue
            if input_ is _CInput.CLOSE:
                if sender not in self.closed_by:  # each side closes once; both closed: the end
                    closes.append((RARE, self._close(sender)))
            elif input_ is _CInput.HELLO:
                found.append((2 * COMMON, self._hello))
            elif input_ is _CInput.HELLO_REPLY:
                found.append((2 * COMMON, self._hello_reply))
            elif input_ is _CInput.ACTION:
                found.append((COMMON, self._action))
            elif input_ is _CInput.NOTIFICATION:
                # First and heavier: the phase tables' deeper entries need several notifications in turn, and
                # the first option is the one hypothesis draws most (and shrinks toward).
                found.insert(0, (4 * COMMON * (3 if self._fresh_phase("OFF_HOOK_TRANSITIONS")
                                                or self._fresh_phase("PHONE_VALIDATION_TRANSITIONS") else 1),
                                 self._notification))
            elif sender is Role.CLIENT and self.observer.unacked_notifications():
                found.append((COMMON, self._ack(Role.SERVER)))
            elif sender is Role.SERVER and self.observer.unacked_actions():
                found.append((COMMON, self._ack(Role.CLIENT)))
        # Closes are rare, so that most walks get to the deeper table entries; and never the first or last option,
        # which hypothesis draws more often than their weights say.
        return [*found[:1], *closes, *found[1:]]

    def _fresh_phase(self, table: str) -> bool:
        """Whether a notification could exercise an entry of ``table`` this walk has not exercised yet."""
        if table == "OFF_HOOK_TRANSITIONS":
            phase: Any = self.observer.off_hook
            keys: Iterable[tuple[Any, Any]] = cceb_states.OFF_HOOK_TRANSITIONS
        else:
            phase, keys = self.observer.phone_validation, cceb_states.PHONE_VALIDATION_TRANSITIONS
        return any(key[0] is phase and (table, key) not in self.transitions for key in keys)

    def _close(self, sender: Role) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            close = (draw(_CLOSE_CODES), draw(_SHORT_TEXT))
            self.transitions.append(("CONNECTION_TRANSITIONS", (self.observer.state, sender, _CInput.CLOSE)))
            self.observer.observe_close(sender, code=close[0], reason=close[1], now=now)
            self.closed_by.add(sender)
            return Step(sender=sender, message=None, close=close, now=now)

        return move

    def _hello(self, draw: st.DrawFn, now: float) -> Step:
        return self.emit(draw_model(draw, Hello), Role.CLIENT, now)

    def _hello_reply(self, draw: st.DrawFn, now: float) -> Step:
        hello = self.observer.hello
        assert hello is not None
        # The key rules (docs/quirks.md C8): resumed only with the hello's own key, a reply repeating the hello's
        # key says resumed, a hello asking for a long-lived session gets a key.
        if hello.session_key is not None and choose(draw, [(1, True), (1, False)]):
            reply = draw_model(draw, HelloReply, uuid=hello.uuid, session_key=hello.session_key, resumed=True)
        else:
            reply = draw_model(draw, HelloReply, uuid=hello.uuid, resumed=pick(draw, [None, False]))
            key = reply.session_key
            if key is None and hello.asks_long_lived:
                key = draw(_SHORT_TEXT)
            if key is not None and key == hello.session_key:
                key += "-new"
            reply = attrs.evolve(reply, session_key=key)
        return self.emit(reply, Role.SERVER, now)

    def _action(self, draw: st.DrawFn, now: float) -> Step:
        unacked = {item.uuid for item in self.observer.unacked_actions()}
        action = draw_model(draw, Action, action=pick(draw, CCEB_REGISTRY.actions()))
        uuid = fresh_id(action.uuid, unacked.__contains__, self.next_serial())
        return self.emit(attrs.evolve(action, uuid=uuid), Role.CLIENT, now)

    def _notification(self, draw: st.DrawFn, now: float) -> Step:
        notification: CcebNotification
        # The phase tables weigh more: their deeper entries need several notifications in turn.
        kind = choose(draw, [(3 * (3 if self._fresh_phase("OFF_HOOK_TRANSITIONS") else 1), "off_hook"),
                              (3 * (3 if self._fresh_phase("PHONE_VALIDATION_TRANSITIONS") else 1), "phone_validation"),
                              (1, "open")])
        if kind == "phone_validation":
            phase = self.observer.phone_validation
            keys = [key for key in cceb_states.PHONE_VALIDATION_TRANSITIONS if key[0] is phase]
            _, state = self.novel(draw, "PHONE_VALIDATION_TRANSITIONS", keys)
            notification = draw_model(draw, PhoneValidation, state=state)  # the rules drop a misplaced timeout
        elif kind == "off_hook":
            hook = self.observer.off_hook
            # Moves along the flow first (hypothesis draws the first options most): a status or a disable
            # changes nothing or goes back to the start.
            hook_keys = sorted((key for key in cceb_states.OFF_HOOK_TRANSITIONS if key[0] is hook),
                               key=lambda key: key[1] in (OffHookState.STATUS, OffHookState.DISABLED))
            _, hook_state = self.novel(draw, "OFF_HOOK_TRANSITIONS", hook_keys)
            notification = draw_model(draw, OffHook, state=hook_state)
        else:
            types = CCEB_REGISTRY.notification_types()
            classes = [cls for cls in map(CCEB_REGISTRY.notification_class, types)
                       if cls is not None and cls not in (PhoneValidation, OffHook)]
            cls = pick(draw, [*classes, None])
            if cls is None:
                notification = draw_model(draw, UnknownNotification, type=draw(UNKNOWN_NAMES))
            else:
                notification = draw_model(draw, cls)
        unacked = {item.uuid for item in self.observer.unacked_notifications()}
        uuid = fresh_id(notification.uuid, unacked.__contains__, self.next_serial())
        return self.emit(attrs.evolve(notification, uuid=uuid), Role.SERVER, now)

    def _ack(self, owner: Role) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            observer = self.observer
            waiting = observer.unacked_notifications() if owner is Role.SERVER else observer.unacked_actions()
            acked = pick(draw, waiting)
            return self.emit(draw_model(draw, Ack, uuid=acked.uuid), owner.peer, now)

        return move


#: The CCEB's walker (its testing slice names it).
WALKER = CcebWalker


def cceb_conversations(*, max_steps: int = 30) -> st.SearchStrategy[Conversation]:
    """Valid CCEB WebSocket conversations of at most ``max_steps`` steps.

    hello and its hello_reply (repeating its uuid, keeping the session-key
    rules), actions and notifications (phone_validation and off_hook along
    their tables, other types, unknown ``x-`` types), each acked at most once,
    and closes by either side at any time (the other side's close completes the
    handshake and ends the walk).
    """
    return conversations("cceb", max_steps=max_steps)
