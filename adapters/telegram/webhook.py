"""The webhook server Telegram calls: a size limit before the body is read and before the secret
check, slow bodies closed, an update confirmed (200) only once recorded (503 while it cannot be),
and an update that can never be handled confirmed too, with one warning, so it is not re-sent."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from telegram import Bot, Update
from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from tinktalker.adapters.telegram.application import AdmittingUpdateQueue
from tinktalker.domain.errors import StorageUnavailable

log = logging.getLogger(__name__)
_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_MAX_UPDATE_ID = 2**63 - 1  # what the inbox's INTEGER column holds


class InvalidUpdate(ValueError):
    """A body that is no update the bot could ever handle."""


class TelegramWebhookServer:
    """Serves POST `path` on `listen`:`port` and registers `public_url` with Telegram. A body over
    `max_body_bytes` (by Content-Length, or while reading a chunked one) is refused with 400 before
    it is read; one slower than `body_timeout_s` is closed."""

    def __init__(
        self,
        *,
        bot: Bot,
        update_queue: AdmittingUpdateQueue,
        listen: str,
        port: int,
        path: str,
        public_url: str,
        secret_token: str,
        max_body_bytes: int,
        body_timeout_s: float,
    ) -> None:
        self._bot = bot
        self._public_url = public_url
        self._secret = secret_token
        self._listen, self._port = listen, port
        shared = {"queue": update_queue, "secret": secret_token, "bot": bot}
        app = Application([(f"/{path.strip('/')}/?", _UpdateHandler, shared)], log_function=_quiet)
        self._server = HTTPServer(
            app,
            max_body_size=max_body_bytes,
            body_timeout=body_timeout_s,
            idle_connection_timeout=body_timeout_s,
        )

    async def start(self, allowed_updates: list[str]) -> None:
        self._server.listen(self._port, address=self._listen)
        await self._bot.set_webhook(
            url=self._public_url, secret_token=self._secret, allowed_updates=allowed_updates
        )

    async def stop(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()


class _UpdateHandler(RequestHandler):
    def initialize(self, queue: AdmittingUpdateQueue, secret: str, bot: Bot) -> None:
        self._queue, self._secret, self._bot = queue, secret, bot

    async def post(self) -> None:
        token = self.request.headers.get(_SECRET_HEADER, "")
        if not hmac.compare_digest(token.encode(), self._secret.encode()):
            self.set_status(403)
            return
        try:
            update = update_of_body(self.request.body, self._bot)
        except InvalidUpdate as error:  # Telegram would send it again and again
            log.warning("webhook: an invalid update was confirmed and dropped: %s", error)
            return
        try:
            await self._queue.admit_now(update)
        except StorageUnavailable as error:  # not confirmed: Telegram sends it again later
            self._queue.report_unwritable(error)
            self.set_status(503)


def update_of_body(body: bytes, bot: Bot) -> Update:
    """The update in a webhook body, or InvalidUpdate naming what is wrong with it."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise InvalidUpdate(f"not JSON ({type(error).__name__})") from None
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if type(update_id) is not int or not 0 < update_id <= _MAX_UPDATE_ID:
        raise InvalidUpdate(f"update_id {_short(update_id)} is not a positive 64-bit integer")
    try:
        update = Update.de_json(data, bot)
    except Exception as error:  # noqa: BLE001 (any shape python-telegram-bot cannot read)
        raise InvalidUpdate(f"update {update_id}: {type(error).__name__}: {error}") from None
    message = update.effective_message
    if message is not None and getattr(message, "chat", None) is None:
        raise InvalidUpdate(f"update {update_id}: its message has no chat")
    return update


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _quiet(handler: RequestHandler) -> None:
    """Requests are not logged one by one (the access log would repeat every chat message)."""
