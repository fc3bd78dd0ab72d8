"""Keeps user text from carrying the model's control markers, and tidies generated replies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tinktalker.domain.dialogue import Message, Speaker


def strip_fragments(text: str, fragments: Iterable[str]) -> str:
    """Remove every fragment until none is left (removal can join a new one, e.g. '@@ПЕР@@ПЕРВЫЙ@@ВЫЙ@@')."""
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


def user_message(text: str, control_fragments: Sequence[str]) -> Message:
    return Message(Speaker.USER, sanitize_user_text(text, control_fragments))
