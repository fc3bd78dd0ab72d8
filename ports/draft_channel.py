"""Port: a channel that can show a reply while it is being written."""

from __future__ import annotations

from typing import Protocol

from tinktalker.domain.dialogue import Conversation


class DraftChannel(Protocol):
    """Shows the text written so far of the reply to a conversation, as a draft that the final
    `UserChannel.send_reply` replaces.

    `drafts_in(conversation)` says whether drafts can show there (e.g. only in private chats).
    `show_draft` shows `text` as draft `draft_id` (non-zero; a later text of the same draft replaces
    the earlier one). A draft is a courtesy: it never raises and never retries, so it cannot delay
    the reply.
    """

    def drafts_in(self, conversation: Conversation) -> bool: ...

    async def show_draft(self, conversation: Conversation, draft_id: int, text: str) -> None: ...
