"""At-least-once delivery: every incoming message is recorded before its sender is told it arrived,
and settled once handled; after a crash the unsettled ones go first, re-deliveries never twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from tinktalker.domain.errors import StorageUnavailable
from tinktalker.domain.inbox import InboxEntry
from tinktalker.ports.update_inbox import UpdateInbox

log = logging.getLogger(__name__)
# A channel keeps an unconfirmed message for a day (Telegram: 24 hours): a settled one older than
# this cannot come back
_KEEP_FINISHED_S = 2 * 24 * 3600


class DurableInbox:
    """`admit` comes before the sender is told a message arrived, `settle` once it has been handled,
    `replay` at start hands back the unsettled ones. With `strict` (the sender re-sends what is not
    confirmed, e.g. a webhook) a message that cannot be recorded is refused by raising
    `StorageUnavailable`; otherwise it is handled anyway, without crash safety."""

    def __init__(
        self,
        *,
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

    async def admit(self, entry: InboxEntry) -> bool:
        """True when the message is to be handled: recorded (or unrecordable but new), not too old,
        not a re-delivery of one already handled or queued."""
        if self._too_old(entry.sent_at):
            log.info(
                "update %s skipped without a reply: sent %.0f s ago (bot.backlog_max_age_s)",
                entry.delivery_id,
                self._clock() - entry.sent_at,
            )
            return False
        fresh = await self._record(entry)
        if not fresh:
            log.info(
                "update %s was delivered again; it is already handled or queued", entry.delivery_id
            )
        return fresh

    async def settle(self, delivery_id: int) -> None:
        """The message has been handled: it is not replayed after a restart."""
        try:
            await self._inbox.finish(delivery_id)
        except StorageUnavailable as error:  # retried with the next one; a restart first repeats it
            log.warning("update %s handled but not yet marked finished: %s", delivery_id, error)

    async def replay(self) -> list[InboxEntry]:
        """The messages left unsettled by the last run, oldest first, to be handled before new
        ones (so each conversation keeps its order); a backlog older than the limit is settled
        unanswered."""
        try:
            await self._inbox.forget_finished(self._clock() - _KEEP_FINISHED_S)
            pending = await self._inbox.pending()
        except StorageUnavailable as error:
            log.error("the inbox cannot be read; unfinished updates are not replayed: %s", error)
            return []
        replayed = []
        for entry in pending:
            if not self._too_old(entry.sent_at):
                replayed.append(entry)
                continue
            log.warning(
                "update %s in conversation %s left unanswered: older than bot.backlog_max_age_s",
                entry.delivery_id,
                entry.conversation,
            )
            await self.settle(entry.delivery_id)
        if replayed:
            log.warning("answering %d message(s) left unanswered by the last run", len(replayed))
        return replayed

    async def _record(self, entry: InboxEntry) -> bool:
        try:
            return await self._inbox.record(entry)
        except StorageUnavailable as error:
            if self._strict:  # the sender is not told it arrived, so it sends it again
                raise
            log.warning(
                "update %s not recorded (%s); answering it without crash protection",
                entry.delivery_id,
                error,
            )
        fresh = entry.delivery_id not in self._unrecorded
        self._unrecorded.add(entry.delivery_id)
        return fresh

    def _too_old(self, sent_at: float) -> bool:
        return self._max_age_s is not None and self._clock() - sent_at > self._max_age_s
