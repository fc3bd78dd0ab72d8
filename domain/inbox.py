"""An incoming message as the inbox keeps it until it has been answered."""

from __future__ import annotations

from dataclasses import dataclass

from tinktalker.domain.dialogue import Conversation


@dataclass(frozen=True)
class InboxEntry:
    """An incoming message as the inbox keeps it until it has been answered."""

    delivery_id: int  # the channel's id for this delivery; a re-delivery carries the same one
    conversation: Conversation
    message_id: int | None
    text: str
    sent_at: float  # when the user sent it (Unix time)
    payload: str  # the message as the channel sent it, so it can be handled again after a crash
