"""At-least-once delivery: every update is recorded before Telegram is told it arrived, and finished
once handled; after a crash the unfinished ones are handled first, re-deliveries never twice."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from telegram import Bot, Update

from tinktalker.domain.errors import StorageUnavailable
from tinktalker.domain.inbox import InboxEntry
from tinktalker.entrypoints.bot.audience import conversation_of
from tinktalker.ports.update_inbox import UpdateInbox

log = logging.getLogger(__name__)
# Telegram keeps an unconfirmed update for 24 hours: a finished one older than this cannot come back
_KEEP_FINISHED_S = 2 * 24 * 3600


class DurableInbox:
    """`admit` is the gate in front of the update queue, `settle` the last handler of every update,
    `replay` hands the unfinished ones back at start. With `strict` (webhook) an update that cannot be
    recorded is refused (Telegram sends it again); otherwise it is handled anyway, without crash safety."""

    def __init__(
        self,
        inbox: UpdateInbox,
        backlog_max_age_s: float | None,
        strict: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._inbox = inbox
        self._max_age_s = backlog_max_age_s
        self._strict = strict
        self._clock = clock
        self._unrecorded: set[int] = set()

    async def admit(self, update: Update) -> bool:
        message = update.effective_message
        if message is None:
            return True
        sent_at = message.date.timestamp()
        if self._too_old(sent_at):
            log.info(
                "update %s skipped without a reply: sent %.0f s ago (bot.backlog_max_age_s)",
                update.update_id,
                self._clock() - sent_at,
            )
            return False
        entry = InboxEntry(
            update.update_id,
            conversation_of(message),
            message.message_id,
            message.text or message.caption or "",
            sent_at,
            update.to_json(),
        )
        fresh = await self._record(entry)
        if not fresh:
            log.info(
                "update %s was delivered again; it is already handled or queued", update.update_id
            )
        return fresh

    async def _record(self, entry: InboxEntry) -> bool:
        try:
            return await self._inbox.record(entry)
        except StorageUnavailable as error:
            if self._strict:  # the webhook answers 500 and Telegram sends the update again
                raise
            log.warning(
                "update %s not recorded (%s); answering it without crash protection",
                entry.update_id,
                error,
            )
        fresh = entry.update_id not in self._unrecorded
        self._unrecorded.add(entry.update_id)
        return fresh

    async def settle(self, update: object, context: object) -> None:
        if not isinstance(update, Update):
            return
        try:
            await self._inbox.finish(update.update_id)
        except (
            StorageUnavailable
        ) as error:  # the inbox tries again with the next one; a restart first would repeat it
            log.warning(
                "update %s handled but not yet marked finished: %s", update.update_id, error
            )

    async def replay(self, bot: Bot, put: Callable[[Update], None]) -> int:
        """Queues the updates left unfinished by the last run, oldest first; returns how many."""
        try:
            await self._inbox.forget_finished(self._clock() - _KEEP_FINISHED_S)
            pending = await self._inbox.pending()
        except StorageUnavailable as error:
            log.error("the inbox cannot be read; unfinished updates are not replayed: %s", error)
            return 0
        replayed = 0
        for entry in pending:
            if self._too_old(entry.sent_at):
                log.warning(
                    "update %s in conversation %s left unanswered: older than bot.backlog_max_age_s",
                    entry.update_id,
                    entry.conversation,
                )
                await self._inbox.finish(entry.update_id)
                continue
            put(Update.de_json(json.loads(entry.payload), bot))
            replayed += 1
        if replayed:
            log.warning("answering %d message(s) left unanswered by the last run", replayed)
        return replayed

    def _too_old(self, sent_at: float) -> bool:
        return self._max_age_s is not None and self._clock() - sent_at > self._max_age_s
