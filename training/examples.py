"""Turns exchanges into token ids and labels with the serving prompt builder: the prompt the bot
sends for the same context (markers, blank padding, order, sanitising), then the reply and eos."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from tinktalker.domain.dialogue import Message
from tinktalker.domain.errors import SetupError
from tinktalker.training.exchanges import Exchange

IGNORED = -100  # the label value that torch's cross entropy and transformers never score
LossOn = Literal["reply", "all"]


@dataclass(frozen=True)
class Example:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]  # aligned with input_ids (the model shifts them); IGNORED = not scored
    prompt_length: int = 0  # the leading ids that are the serving prompt

    def __len__(self) -> int:
        return len(self.input_ids)


class PromptBuilder(Protocol):
    """The serving prompt: adapters.model.rudialogpt_prompt.RuDialoGptPrompt, from the container."""

    @property
    def eos_id(self) -> int | None: ...

    def encode(self, context: Sequence[Message], max_tokens: int) -> list[int]: ...

    def text_ids(self, text: str) -> list[int]: ...


class ExampleEncoder:
    """Encodes exchanges exactly as serving builds prompts, so training sees what the bot sends."""

    def __init__(self, prompt: PromptBuilder, max_length: int) -> None:
        if prompt.eos_id is None:
            raise SetupError(
                "the base model's tokenizer has no eos token; training needs one to end replies"
            )
        self.eos_id = int(prompt.eos_id)
        self._prompt = prompt
        self.max_length = max_length

    def encode(self, exchange: Exchange, loss_on: LossOn = "reply") -> Example:
        context = exchange.messages()
        prompt = self._prompt.encode(context, self.max_length)
        reply = self._prompt.text_ids(f" {exchange.reply}") + [self.eos_id]
        # a long reply loses its end (and eos) rather than the prompt more than half its room
        reply = reply[: self.max_length - min(len(prompt), self.max_length // 2)]
        if len(prompt) + len(reply) > self.max_length:
            prompt = self._prompt.encode(context, self.max_length - len(reply))
        ids = (*prompt, *reply)
        labels = ids if loss_on == "all" else (*[IGNORED] * len(prompt), *reply)
        return Example(ids, tuple(labels), len(prompt))

    def encode_all(self, exchanges: Sequence[Exchange], loss_on: LossOn = "reply") -> list[Example]:
        return [self.encode(exchange, loss_on) for exchange in exchanges]
