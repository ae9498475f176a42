"""A CCEB agent client: hello with a long-lived session, actions and their acks, notifications acked, resume.

The session key in ``hello_reply`` is a secret: the agent keeps it to resume
its session after a reconnection (the CCEB resumes it for 72 hours after the
last disconnection, else it issues a new key) and never prints it.

Try it against the reference CCEB (which offers an interaction on each connection)::

    ccproto serve cceb --listen 127.0.0.1:8765 --stimulate offer-interaction
    CCEB_TOKEN=eyJ... python examples/cceb_agent.py ws://127.0.0.1:8765/ws/v1 --tenant acme
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import sys
from collections.abc import Callable, Mapping, Sequence

from ccproto.cceb import Ack, Action, CcebConnection, CcebMessage, Hello, HelloReply, Notification
from ccproto.cceb.ws import connect_cceb
from ccproto.core.jsonio import JsonValue
from ccproto.transports import Expired, MessageStream


class Agent:
    """One agent's connection to a CCEB, resumable: ``connect()``, ``act(...)``, ``listen(...)``, ``reconnect()``.

    Every wait is bounded by ``timeout`` seconds (``TimeoutError``).  Attributes
    after each ``connect``: ``resumed`` (the reply said the session was resumed)
    and ``key_is_new`` (the reply gave a key other than the one we held).
    """

    def __init__(
        self, uri: str, *, token: str, tenant: str, timeout: float = 5.0, log: Callable[[str], None] = print,
    ) -> None:
        self.uri = uri
        self.tenant = tenant
        self.timeout = timeout
        self.log = log
        self._token = token  # a secret, like the session key: kept out of the repr and the logs
        self._session_key: str | None = None
        self._stream: MessageStream[CcebConnection] | None = None
        #: Whether the last hello_reply said ``resumed: true``.
        self.resumed = False
        #: Whether the last hello_reply gave a different key from the one we held (or the first one).
        self.key_is_new = False
        #: The ``type`` of every notification acked, in order.
        self.acked: list[str] = []

    def __repr__(self) -> str:
        return f"Agent({self.uri!r}, tenant={self.tenant!r}, has_session_key={self._session_key is not None})"

    @property
    def session_key(self) -> str | None:
        """The long-lived session's key (a secret: never log it)."""
        return self._session_key

    async def connect(self) -> None:
        """Open the WebSocket and say hello: resume with our key if we hold one, else ask for a long-lived session."""
        self._stream = await asyncio.wait_for(connect_cceb(self.uri), self.timeout)
        if self._session_key is not None:
            hello = Hello.new(token=self._token, tenant=self.tenant, session_key=self._session_key)
        else:
            hello = Hello.new(token=self._token, tenant=self.tenant, long_lived=True)
        await self._stream.send(hello)
        reply = await self._until(lambda message: isinstance(message, HelloReply), self.timeout)
        if not isinstance(reply, HelloReply):
            raise TimeoutError("no hello_reply")
        old, new = self._session_key, reply.session_key
        self.resumed = reply.resumed is True
        self.key_is_new = new is not None and (old is None or not hmac.compare_digest(old, new))
        self._session_key = new if new is not None else old
        self.log(f"hello_reply: resumed={self.resumed}, new session key={self.key_is_new}")

    async def act(self, action: str, details: Mapping[str, JsonValue] | None = None) -> None:
        """Send one action and wait for the CCEB's ack (acking notifications meanwhile)."""
        stream = self._connected()
        sent = Action.new(action, details)
        await stream.send(sent)
        acked = await self._until(lambda message: isinstance(message, Ack) and message.uuid == sent.uuid, self.timeout)
        if acked is None:
            raise TimeoutError(f"{action} was not acked")
        self.log(f"{action}: acked")

    async def listen(self, seconds: float) -> None:
        """Ack whatever notifications arrive during ``seconds``."""
        await self._until(lambda message: False, seconds)

    async def reconnect(self) -> None:
        """Close this WebSocket and open another, resuming the session."""
        await self.close()
        await self.connect()

    async def close(self) -> None:
        """Close the WebSocket (the session stays resumable for 72 hours)."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.close(1000, "bye")

    def _connected(self) -> MessageStream[CcebConnection]:
        if self._stream is None:
            raise RuntimeError("not connected: call connect() first")
        return self._stream

    async def _until(self, wanted: Callable[[CcebMessage], bool], seconds: float) -> CcebMessage | None:
        """Receive (acking every notification) until ``wanted(message)``; ``None`` if ``seconds`` pass first."""
        stream = self._connected()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            try:
                # Only the receive is timed out: cancelling it loses nothing, unlike cancelling a send half done.
                left = max(0.0, deadline - loop.time())
                message: CcebMessage | Expired | None = await asyncio.wait_for(stream.receive(), left)
            except TimeoutError:
                return None
            if message is None:
                raise ConnectionError("the CCEB closed the connection")
            if isinstance(message, Expired):
                raise TimeoutError(f"{len(message.items)} message(s) got no answer in time")
            if isinstance(message, Notification):
                await stream.send(Ack.of(message))
                self.acked.append(message.message_type)
                self.log(f"notification {message.message_type}: acked")
            if wanted(message):
                return message


async def demo(uri: str, *, token: str, tenant: str, log: Callable[[str], None] = print) -> Agent:
    """Connect, act twice, ack what comes, reconnect and resume; returns the agent (closed)."""
    agent = Agent(uri, token=token, tenant=tenant, log=log)
    await agent.connect()
    try:
        await agent.act("ChangeAgentStateEvent", {"state": "Available"})
        await agent.act("RequestAgentInteractionListEvent")
        await agent.listen(0.5)
        await agent.reconnect()
        await agent.listen(0.5)
    finally:
        await agent.close()
    return agent


def main(argv: Sequence[str] | None = None) -> int:
    """``python examples/cceb_agent.py ws://HOST:PORT/ws/v1 --tenant T`` (token from ``$CCEB_TOKEN``)."""
    parser = argparse.ArgumentParser(description="A CCEB agent client (see the module docstring).")
    parser.add_argument("uri", help="the CCEB's WebSocket URL, ws://HOST:PORT/ws/v1")
    parser.add_argument("--tenant", default="acme")
    args = parser.parse_args(argv)
    token = os.environ.get("CCEB_TOKEN", "example-token")  # never on the command line: it would show in `ps`
    agent = asyncio.run(demo(args.uri, token=token, tenant=args.tenant))
    print(f"{len(agent.acked)} notification(s) acked; session resumed on reconnection: {agent.resumed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
