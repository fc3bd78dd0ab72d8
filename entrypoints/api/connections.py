"""Connection hygiene for `tinktalker serve`: idle and slow connections are closed, the count is
capped, the open-files limit is raised, and running out of descriptors is one log line, not a
traceback per accept."""

from __future__ import annotations

import asyncio
import logging
import resource
import time

from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

from tinktalker.entrypoints.api.draining import draining
from tinktalker.entrypoints.api.framing import framed

log = logging.getLogger(__name__)

_OUT_OF_DESCRIPTORS = "socket.accept() out of system resource"
_EXCESS_GRACE_S = (
    1.0  # a connection beyond the cap gets this long to send its request (and its 503)
)


def guarded_h11(
    idle_timeout_s: float, header_timeout_s: float, max_connections: int
) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for each request head: `idle_timeout_s` for its first
    byte (before the first request too, which uvicorn does not time), `header_timeout_s` from there
    to the complete head; a connection beyond `max_connections` gets a short grace instead. The body
    then has `header_timeout_s` too, and an ambiguous length is refused (framing.py)."""

    class GuardedH11Protocol(H11Protocol):
        _seen_cycle: RequestResponseCycle | None
        _head_started: bool | None  # None once the head is whole

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            state = self.server_state
            self.app = framed(self.app, header_timeout_s, lambda: draining(state))
            self._deadline: asyncio.TimerHandle | None = None
            self._seen_cycle = None
            self._excess = len(self.connections) > max_connections
            self._await_head(_EXCESS_GRACE_S if self._excess else idle_timeout_s)

        def data_received(self, data: bytes) -> None:
            if self._seen_cycle is self.cycle and self._head_started is False:
                self._head_started = True  # the head's first bytes: now it must be complete in time
                self._arm(
                    min(header_timeout_s, _EXCESS_GRACE_S) if self._excess else header_timeout_s
                )
            super().data_received(data)
            self._note_head()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_head(idle_timeout_s)
                self._note_head()  # a pipelined request may have started already

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _await_head(self, timeout_s: float) -> None:
            self._seen_cycle, self._head_started = self.cycle, False
            self._arm(timeout_s)

        def _note_head(self) -> None:
            if self.cycle is not self._seen_cycle:  # a new request's head arrived whole
                self._seen_cycle, self._head_started = self.cycle, None
                self._disarm()

        def _arm(self, timeout_s: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(timeout_s, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedH11Protocol


def raise_open_files_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (many distributions start services at 1024); the new
    pair."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as error:  # e.g. a container's limit below the hard value
            log.warning("could not raise the open-files limit from %d: %s", soft, error)
    return soft, hard


class QuietAcceptErrors:
    """Event-loop exception handler: running out of descriptors is logged once per `every_s` with a
    count, without the traceback asyncio writes on each failed accept; anything else goes to the
    default handler."""

    def __init__(self, every_s: float = 10.0) -> None:
        self._every_s = every_s
        self._last = -every_s
        self._missed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        if context.get("message") != _OUT_OF_DESCRIPTORS:
            loop.default_exception_handler(context)
            return
        self._missed += 1
        now = time.monotonic()
        if now - self._last >= self._every_s:
            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
            log.error(
                "out of file descriptors (limit %d): new connections wait (%d refused accepts); "
                "lower "
                "server.max_connections or raise `ulimit -n`",
                soft,
                self._missed,
            )
            self._last, self._missed = now, 0
