"""Turns exchanges into token ids and labels: `@@ПЕРВЫЙ@@ first @@ВТОРОЙ@@ second` + eos."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from domain.errors import SetupError
from training.chat_csv import Exchange

IGNORED = -100  # the label value that torch's cross entropy and transformers never score
LossOn = Literal["reply", "all"]


@dataclass(frozen=True)
class Example:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]  # aligned with input_ids (the model shifts them); IGNORED = not scored

    def __len__(self) -> int:
        return len(self.input_ids)


class ExampleEncoder:
    """Encodes like the chat prompt does (markers and eos resolved from the tokenizer)."""

    def __init__(self, tokenizer, first_marker: str, second_marker: str, max_length: int) -> None:
        self._tokenizer = tokenizer
        self.first_ids = self._ids(first_marker)
        self.second_ids = self._ids(second_marker)
        if tokenizer.eos_token_id is None:
            raise SetupError("the base model's tokenizer has no eos token; training needs one to end replies")
        self.eos_id = int(tokenizer.eos_token_id)
        self._control = {self.eos_id, *tokenizer.all_special_ids,
                         *(ids[0] for ids in (self.first_ids, self.second_ids) if len(ids) == 1)}
        self.max_length = max_length
        if len(self.first_ids) + len(self.second_ids) + 2 > max_length:
            raise SetupError(f"training max_length {max_length} is too small to hold the two markers")

    def encode(self, exchange: Exchange, loss_on: LossOn = "reply") -> Example:
        context = self._text(f" {exchange.first} ")
        reply = self._text(f" {exchange.second}") + [self.eos_id]
        room = self.max_length - len(self.first_ids) - len(self.second_ids)
        if len(reply) > room - 1:
            reply = reply[:room - 1]  # a reply too long to fit loses its end (and its eos)
        context = context[len(context) - min(len(context), room - len(reply)):]  # keep the context's end
        prompt = [*self.first_ids, *context, *self.second_ids]
        ids = prompt + reply
        if loss_on == "all":
            return Example(tuple(ids), tuple(ids))
        return Example(tuple(ids), tuple([IGNORED] * len(prompt) + reply))

    def encode_all(self, exchanges: Sequence[Exchange], loss_on: LossOn = "reply") -> list[Example]:
        return [self.encode(exchange, loss_on) for exchange in exchanges]

    def _ids(self, text: str) -> list[int]:
        ids = self._tokenizer.encode(text, add_special_tokens=False)
        if not ids:
            raise SetupError(f"the tokenizer turns the marker '{text}' into no tokens; check prompt markers")
        return ids

    def _text(self, text: str) -> list[int]:
        # chat text can never contain a control token, so it cannot fake a turn or an end
        return [i for i in self._tokenizer.encode(text, add_special_tokens=False) if i not in self._control]
