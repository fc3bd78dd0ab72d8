"""SIGTERM with requests in flight: the server keeps listening while they finish and answers every
new request 503 (a load balancer's /ready sees the drain instead of a refused connection); then it
shuts down as uvicorn does."""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn
from uvicorn.server import ServerState

log = logging.getLogger(__name__)


def draining(state: ServerState) -> bool:
    """Whether the server that owns `state` is draining (read by each connection)."""
    return getattr(state, "draining", False)


class DrainingServer(uvicorn.Server):
    """uvicorn's Server, with a drain before its shutdown."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        in_flight = [task for task in self.server_state.tasks if not task.done()]
        if in_flight:
            self.server_state.draining = True  # type: ignore[attr-defined]
            log.info("draining %d request(s) in flight; new requests get 503", len(in_flight))
            await asyncio.wait(in_flight, timeout=self.config.timeout_graceful_shutdown)
        await super().shutdown(sockets)
