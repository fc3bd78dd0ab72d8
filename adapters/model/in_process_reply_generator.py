"""What both in-process engines share: one blocking model call at a time, off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from tinktalker.adapters.model.decoding import Decoding
from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt
from tinktalker.domain.dialogue import GenerationOptions, Message, Reply
from tinktalker.domain.errors import ReplyUnavailable

log = logging.getLogger(__name__)


class InProcessReplyGenerator:
    """Implements ports.ReplyGenerator around a subclass's blocking `generate_now`."""

    def __init__(self, prompt: RuDialoGptPrompt, max_positions: int, decoding: Decoding) -> None:
        self._prompt = prompt
        self._decoding = decoding
        self.max_positions = max_positions
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")

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
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self.generate_now, contexts, options)
        except RuntimeError as error:  # out of memory and friends: the caller may retry
            log.exception("generation failed for a batch of %d", len(contexts))
            raise ReplyUnavailable(f"the model failed: {error}") from error

    def generate_now(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> list[Reply]:
        raise NotImplementedError

    def _prompts(
        self, contexts: Sequence[Sequence[Message]], decoding: Decoding
    ) -> list[list[int]]:
        """Prompt ids, each cut so that it and the longest reply fit the model's positions."""
        budget = max(self.max_positions - decoding.max_new_tokens, 1)
        return [self._prompt.encode(c, budget) for c in contexts]

    def _row_streamer(
        self, contexts: Sequence[Sequence[Message]], decoding: Decoding, stops: Sequence[str]
    ):
        """A RowStreamer for the contexts that carry a listener (a streamed request), else None."""
        listeners = [getattr(context, "listener", None) for context in contexts]
        if decoding.num_beams > 1 or not any(
            listeners
        ):  # beams change earlier tokens until the end
            return None
        from tinktalker.adapters.model.reply_streamer import RowStreamer

        markers = (self._prompt.markers.first, self._prompt.markers.second)
        return RowStreamer(
            listeners, lambda ids: self._prompt.visible(ids, stops)[1:], (*markers, *stops)
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True)
