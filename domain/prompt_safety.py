"""Keeps user text from carrying the model's control markers, and tidies generated replies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tinktalker.domain.dialogue import Message, ReplyPiece


def strip_fragments(text: str, fragments: Iterable[str]) -> str:
    """Remove every fragment until none is left (removal can join a new one, e.g.
    '@@ПЕР@@ПЕРВЫЙ@@ВЫЙ@@')."""
    fragments = [f for f in fragments if f]
    previous = None
    while previous != text:
        previous = text
        for fragment in fragments:
            text = text.replace(fragment, "")
    return text


def sanitize_user_text(text: str, control_fragments: Sequence[str]) -> str:
    return " ".join(strip_fragments(text, control_fragments).split())


def clean_reply(text: str, control_fragments: Sequence[str], fallback: str) -> str:
    cleaned = " ".join(strip_fragments(text, control_fragments).split())
    return cleaned or fallback


def context_window(history: Sequence[Message], size: int) -> tuple[Message, ...]:
    """The last `size` messages, oldest first (the prompt marks each by its speaker)."""
    window = list(history[-size:]) if size > 0 else []
    return tuple(window)


class StreamedReplies:
    """Cleans replies piece by piece as they are written, as `clean_reply` cleans a whole one:
    whitespace collapsed, no control fragments, the start of one held back until it cannot be one.
    What `add` and `rest` return for a choice adds up to a prefix of its cleaned final text."""

    def __init__(self, n: int, control_fragments: Sequence[str]) -> None:
        self._fragments = [f for f in control_fragments if f]
        self._written = [""] * n
        self._sent = [""] * n

    def add(self, piece: ReplyPiece) -> str:
        """The cleaned text that `piece` settles for its choice (maybe none yet)."""
        self._written[piece.index] += piece.text
        text = " ".join(strip_fragments(self._written[piece.index], self._fragments).split())
        held = max(
            (k for f in self._fragments for k in range(1, len(f)) if text.endswith(f[:k])),
            default=0,
        )
        return self._advance(piece.index, text[: len(text) - held].rstrip())

    def rest(self, index: int, final_text: str) -> str:
        """What is left to send of choice `index` once its final text is known."""
        return self._advance(index, final_text)

    def _advance(self, index: int, text: str) -> str:
        sent = self._sent[index]
        if len(text) <= len(sent) or not text.startswith(sent):
            return ""
        self._sent[index] = text
        return text[len(sent) :]
