"""PromptMeter on the local model's own prompt encoding (the exact ids it would generate from)."""

from __future__ import annotations

from collections.abc import Sequence

from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt
from tinktalker.domain.dialogue import Message
from tinktalker.ports.prompt_meter import PromptMeter

_UNLIMITED = 1 << 30


class TokenizerPromptMeter(PromptMeter):
    """Implements ports.PromptMeter."""

    def __init__(self, prompt: RuDialoGptPrompt, context_length: int) -> None:
        self._prompt = prompt
        self.context_length = context_length

    async def prompt_tokens(self, context: Sequence[Message]) -> int:
        return len(self._prompt.encode(context, _UNLIMITED))
