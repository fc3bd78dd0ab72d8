"""Streaming's one thread hop: a model's thread (or a native engine's worker) hands pieces over.

It never raises into the thread that calls it: a Python exception in a native thread aborts the
process. After `give_up` (the stream was closed) or once the loop is gone, pieces are dropped and
`given_up` tells the model to stop its rows at the next step."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tinktalker.domain.dialogue import ReplyPiece

log = logging.getLogger(__name__)


class PieceHandOver:
    """Called as `hand_over(row, text)` from the model's threads; `give_up` from the loop's."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, deliver: Callable[[ReplyPiece], None]
    ) -> None:
        self._loop = loop
        self._deliver = deliver
        self._given_up = False
        self._silent = False

    @property
    def given_up(self) -> bool:
        """True once nobody waits for the pieces: the model may stop."""
        return self._given_up

    def give_up(self) -> None:
        self._given_up = True

    def __call__(self, row: int, text: str) -> None:
        if self._given_up or self._silent:
            return
        try:
            self._loop.call_soon_threadsafe(self._deliver, ReplyPiece(row, text))
        except RuntimeError:  # the loop closed under a running model: nobody listens any more
            self._given_up = True

    def failed(self) -> None:
        """Streaming broke in the model's thread: no more pieces, the replies still come whole."""
        if not self._silent:
            self._silent = True
            log.exception("streaming pieces failed; the replies follow whole when written")
