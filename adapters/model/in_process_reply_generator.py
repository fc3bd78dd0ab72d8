"""What both in-process engines share: blocking model calls (one at a time, or one per worker of
an engine that has several), off the event loop.

Streaming is the one thread hop: the model's thread hands each piece to the event loop
(`PieceHandOver`), where `stream_batch` yields it; a closed stream stops its rows at the next
step."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

from tinktalker.adapters.model.decoding import Decoding
from tinktalker.adapters.model.piece_hand_over import PieceHandOver
from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt
from tinktalker.domain.dialogue import GenerationOptions, Message, Reply, ReplyPiece, StreamEvent
from tinktalker.domain.errors import ReplyUnavailable
from tinktalker.ports.reply_generator import ReplyGenerator

if TYPE_CHECKING:
    from tinktalker.adapters.model.reply_streamer import RowStreamer

log = logging.getLogger(__name__)

HandOver = PieceHandOver  # (row, piece), called from the model's thread


class InProcessReplyGenerator(ReplyGenerator):
    """Implements ports.ReplyGenerator around a subclass's blocking `generate_now`."""

    def __init__(
        self,
        prompt: RuDialoGptPrompt,
        max_positions: int,
        decoding: Decoding,
        batches_in_flight: int = 1,
    ) -> None:
        self._prompt = prompt
        self._decoding = decoding
        self.max_positions = max_positions
        self.batches_in_flight = batches_in_flight  # model calls that may run at once
        self._executor = ThreadPoolExecutor(
            max_workers=batches_in_flight, thread_name_prefix="generate"
        )

    @property
    def prompt(self) -> RuDialoGptPrompt:
        return self._prompt

    async def generate(
        self, context: Sequence[Message], options: GenerationOptions | None = None
    ) -> Reply:
        return (await self.generate_batch([context], options))[0]

    async def generate_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> list[Reply]:
        if not contexts:
            return []
        return await self._in_thread(contexts, options, None)

    async def stream_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        if not contexts:
            yield []
            return
        pieces: asyncio.Queue[ReplyPiece | None] = asyncio.Queue()
        hand_over = PieceHandOver(asyncio.get_running_loop(), pieces.put_nowait)
        work = asyncio.ensure_future(self._in_thread(contexts, options, hand_over))
        # after every piece: the thread hands its pieces over before its result
        work.add_done_callback(lambda _: pieces.put_nowait(None))
        try:
            while (piece := await pieces.get()) is not None:
                yield piece
            yield work.result()
        finally:
            hand_over.give_up()  # a closed stream: the model stops these rows at its next step
            work.cancel()

    async def _in_thread(
        self,
        contexts: Sequence[Sequence[Message]],
        options: GenerationOptions | None,
        hand_over: HandOver | None,
    ) -> list[Reply]:
        loop = asyncio.get_running_loop()
        call = partial(self.generate_now, contexts, options, hand_over)
        try:
            return await loop.run_in_executor(self._executor, call)
        except RuntimeError as error:  # out of memory and friends: the caller may retry
            log.exception("generation failed for a batch of %d", len(contexts))
            raise ReplyUnavailable(f"the model failed: {error}") from error

    def generate_now(
        self,
        contexts: Sequence[Sequence[Message]],
        options: GenerationOptions | None = None,
        hand_over: HandOver | None = None,
    ) -> list[Reply]:
        """Blocking batch generation; with `hand_over`, each row's pieces go to it as written."""
        raise NotImplementedError

    def _prompts(
        self, contexts: Sequence[Sequence[Message]], decoding: Decoding
    ) -> list[list[int]]:
        """Prompt ids, each cut so that it and the longest reply fit the model's positions."""
        budget = max(self.max_positions - decoding.max_new_tokens, 1)
        return [self._prompt.encode(c, budget) for c in contexts]

    def _row_streamer(
        self, rows: int, decoding: Decoding, stops: Sequence[str], hand_over: HandOver | None
    ) -> RowStreamer | None:
        """A RowStreamer handing each row's pieces over, for a streamed batch of one beam."""
        if hand_over is None or decoding.num_beams > 1:  # beams change earlier tokens until the end
            return None
        from tinktalker.adapters.model.reply_streamer import RowStreamer

        # Only the prompt, not `self`: a native engine's worker may drop its copy of the step
        # callback last, and an engine freed on its own worker joins itself: abort.
        prompt = self._prompt
        markers = (prompt.markers.first, prompt.markers.second)
        return RowStreamer(
            [partial(hand_over, row) for row in range(rows)],
            lambda ids: prompt.visible(ids, stops)[1:],
            (*markers, *stops),
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True)
