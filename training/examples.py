"""Turns exchanges into token ids and labels: `@@ПЕРВЫЙ@@ first @@ВТОРОЙ@@ second` + eos."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from tinktalker.domain.errors import SetupError
from tinktalker.training.chat_csv import Exchange

IGNORED = -100  # the label value that torch's cross entropy and transformers never score
LossOn = Literal["reply", "all"]


@dataclass(frozen=True)
class Example:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]  # aligned with input_ids (the model shifts them); IGNORED = not scored

    def __len__(self) -> int:
        return len(self.input_ids)


class PromptVocabulary(Protocol):
    """The chat prompt's token vocabulary (adapters.model.rudialogpt_prompt.RuDialoGptPrompt, from the container)."""

    first_ids: list[int]
    second_ids: list[int]
    eos_id: int | None

    def text_ids(self, text: str) -> list[int]: ...


class ExampleEncoder:
    """Encodes exchanges with the chat prompt's own vocabulary, so training sees what serving sends."""

    def __init__(self, prompt: PromptVocabulary, max_length: int) -> None:
        self.first_ids = prompt.first_ids
        self.second_ids = prompt.second_ids
        if prompt.eos_id is None:
            raise SetupError(
                "the base model's tokenizer has no eos token; training needs one to end replies"
            )
        self.eos_id = int(prompt.eos_id)
        self._text = prompt.text_ids
        self.max_length = max_length
        if len(self.first_ids) + len(self.second_ids) + 2 > max_length:
            raise SetupError(
                f"training max_length {max_length} is too small to hold the two markers"
            )

    def encode(self, exchange: Exchange, loss_on: LossOn = "reply") -> Example:
        context = self._text(f" {exchange.first} ")
        reply = self._text(f" {exchange.second}") + [self.eos_id]
        room = self.max_length - len(self.first_ids) - len(self.second_ids)
        if len(reply) > room - 1:
            reply = reply[: room - 1]  # a reply too long to fit loses its end (and its eos)
        context = context[
            len(context) - min(len(context), room - len(reply)) :
        ]  # keep the context's end
        prompt = [*self.first_ids, *context, *self.second_ids]
        ids = prompt + reply
        if loss_on == "all":
            return Example(tuple(ids), tuple(ids))
        return Example(tuple(ids), tuple([IGNORED] * len(prompt) + reply))

    def encode_all(self, exchanges: Sequence[Exchange], loss_on: LossOn = "reply") -> list[Example]:
        return [self.encode(exchange, loss_on) for exchange in exchanges]
