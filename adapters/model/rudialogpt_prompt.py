"""The ruDialoGPT prompt on token ids: `@@ПЕРВЫЙ@@ m1 @@ВТОРОЙ@@ m2 @@ПЕРВЫЙ@@ m3 @@ВТОРОЙ@@`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tinktalker.domain.dialogue import Message, Reply, Speaker
from tinktalker.domain.errors import SetupError


@dataclass(frozen=True)
class PromptMarkers:
    """The turn markers; their one source is the settings schema (prompt.first_marker, ...)."""

    first: str
    second: str

    def control_fragments(
        self, special_tokens: Sequence[str] = (), extras: Sequence[str] = ()
    ) -> tuple[str, ...]:
        """What user text and replies never carry: the markers, special tokens, then extras."""
        fragments = (self.first, self.second, *special_tokens, *extras)
        return tuple(dict.fromkeys(f for f in fragments if f))


class RuDialoGptPrompt:
    """Encodes a context for the model; user text can never become a control token.

    Training encodes every example's prompt with this same `encode` (then the reply's `text_ids` and
    `eos_id`), so the model learns exactly the prompt serving will send it.
    """

    def __init__(self, tokenizer, markers: PromptMarkers, pad_to_messages: int) -> None:
        self._tokenizer = tokenizer
        self.first_ids = self._marker_ids(markers.first)
        self.second_ids = self._marker_ids(markers.second)
        self.markers = markers
        self._pad_to = pad_to_messages
        eos = tokenizer.eos_token_id
        single = [ids[0] for ids in (self.first_ids, self.second_ids) if len(ids) == 1]
        self.stop_ids = tuple(dict.fromkeys([*([eos] if eos is not None else []), *single]))
        self._control_ids = set(self.stop_ids) | set(tokenizer.all_special_ids)

    @classmethod
    def for_markers(
        cls, tokenizer, first_marker: str, second_marker: str, pad_to_messages: int
    ) -> RuDialoGptPrompt:
        """Training's prompt: the serving prompt for these markers and padding."""
        return cls(tokenizer, PromptMarkers(first_marker, second_marker), pad_to_messages)

    def control_fragments(self, extras: Sequence[str] = ()) -> tuple[str, ...]:
        """The markers, this tokenizer's special tokens (eos, ...) and the configured extras."""
        return self.markers.control_fragments(self._tokenizer.all_special_tokens, extras)

    @property
    def eos_id(self) -> int | None:
        return self._tokenizer.eos_token_id

    def text_ids(self, text: str) -> list[int]:
        """Ids of chat text with every control token dropped, so text can never fake a turn or an
        end."""
        return [i for i in self._encode(text) if i not in self._control_ids]

    def encode(self, context: Sequence[Message], max_tokens: int) -> list[int]:
        """Prompt ids ending in the bot marker, left-truncated to at most `max_tokens`."""
        segments = [self._segment(m) for m in self._padded(context)]
        while len(segments) > 1 and self._length(segments) > max_tokens:
            segments.pop(0)  # drop the oldest whole message before cutting into one
        marker, text = segments[0]
        overflow = self._length(segments) - max_tokens
        if overflow > 0:
            text = text[min(overflow, len(text)) :]
            segments[0] = (marker, text)
        ids = [i for marker, text in segments for i in (*marker, *text)] + list(self.second_ids)
        return ids[-max_tokens:] if len(ids) > max_tokens else ids

    def _padded(self, context: Sequence[Message]) -> list[Message]:
        return padded(context, self._pad_to)

    def _segment(self, message: Message) -> tuple[list[int], list[int]]:
        marker = self.first_ids if message.speaker is Speaker.USER else self.second_ids
        return marker, self.text_ids(f" {message.text} ")

    def _length(self, segments: list[tuple[list[int], list[int]]]) -> int:
        return sum(len(m) + len(t) for m, t in segments) + len(self.second_ids)

    def _encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False)

    def _marker_ids(self, marker: str) -> list[int]:
        ids = self._encode(marker)
        if not ids:
            raise SetupError(
                f"the tokenizer turns the marker '{marker}' into no tokens; "
                "check the prompt markers"
            )
        return ids

    def cut_reply(self, generated: Sequence[int]) -> tuple[list[int], bool]:
        """Generated ids up to the first stop id; True when a stop id ended the reply."""
        for position, token in enumerate(generated):
            if token in self.stop_ids:
                return list(generated[:position]), True
        return list(generated), False

    def read_reply(
        self, generated: Sequence[int], prompt_tokens: int, stops: Sequence[str] = ()
    ) -> Reply:
        """The reply in generated ids: cut at a stop id, a marker's text or a caller's stop
        string."""
        ids, text, stopped = self.visible(generated, stops)
        return Reply(text.strip(), prompt_tokens, len(ids), "stop" if stopped else "length")

    def visible(
        self, generated: Sequence[int], stops: Sequence[str] = ()
    ) -> tuple[list[int], str, bool]:
        """The reply's ids and text (not yet stripped) up to the first stop, and whether a stop
        ended it."""
        ids, stopped = self.cut_reply(generated)
        text = self._tokenizer.decode(ids, skip_special_tokens=True)
        for marker in (self.markers.first, self.markers.second, *stops):
            if marker and marker in text:  # multi-token markers and caller stop strings
                text, stopped = text.split(marker, 1)[0], True
        return ids, text, stopped


def padded(context: Sequence[Message], pad_to_messages: int) -> list[Message]:
    """The context with blank messages of alternating speakers in front, up to `pad_to_messages`."""
    messages = list(context)
    while len(messages) < pad_to_messages:  # the original padded missing turns with a blank
        speaker = Speaker.BOT if messages and messages[0].speaker is Speaker.USER else Speaker.USER
        messages.insert(0, Message(speaker, ""))
    return messages


def prompt_text(context: Sequence[Message], markers: PromptMarkers, pad_to_messages: int) -> str:
    """The prompt as text, for servers that tokenize it themselves: the same ids when markers are
    tokens."""
    turns = "".join(
        f"{markers.first if m.speaker is Speaker.USER else markers.second} {m.text} "
        for m in padded(context, pad_to_messages)
    )
    return turns + markers.second
