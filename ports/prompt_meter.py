"""Port: measures a prompt before it is generated, so a server can refuse what will not fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tinktalker.domain.dialogue import Message


class PromptMeter(Protocol):
    """`prompt_tokens(context)` is the size of the prompt the generator would build for this
    context; `context_length` is how many tokens, prompt and reply together, the model can hold."""

    context_length: int

    async def prompt_tokens(self, context: Sequence[Message]) -> int: ...
