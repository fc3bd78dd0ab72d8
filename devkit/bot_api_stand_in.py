"""A Bot API stand-in on loopback: speaks enough of Telegram's JSON for python-telegram-bot to poll
it.

Tests queue user messages with `say(...)`, read what the bot sent from `calls`, and can make a
method fail (e.g. 429 with retry_after) a number of times.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

BOT_USER = {
    "id": 777000111,
    "is_bot": True,
    "first_name": "TinkTalker",
    "username": "tink_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    ok: bool = True  # False when the stand-in answered it with an error (see fail())

    @property
    def chat_id(self) -> int:
        return int(self.params["chat_id"])

    @property
    def topic(self) -> int | None:
        return int(self.params["message_thread_id"]) if "message_thread_id" in self.params else None

    @property
    def quoted(self) -> int | None:
        """The message id a sendMessage quotes (reply_parameters), if any."""
        parameters = json.loads(self.params.get("reply_parameters", "null"))
        return parameters["message_id"] if parameters else None


@dataclass
class Failure:
    status: int
    description: str
    times: int
    retry_after: int | None = None
    after: int = 0  # calls that still succeed before the failures start


class BotApiStandIn:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.rejected_tokens: list[str] = []
        self._updates: list[dict] = []
        self._history: list[dict] = []  # every update ever queued, for redeliver()
        self._next_update_id = 1
        self._next_message_id = 1
        self._failures: dict[str, Failure] = {}
        self._slow: dict[str, list[float]] = {}  # method -> [seconds, times left]
        self._garbled: dict[str, int] = {}  # method -> times left
        self._changed = threading.Condition()
        self._closing = False
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="bot-api-stand-in", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/bot"

    def __enter__(self) -> BotApiStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- what users do -------------------------------------------------------------------------
    def say(
        self,
        chat: dict,
        user: dict,
        text: str,
        *,
        reply_to_bot: bool = False,
        topic: int | None = None,
        age_s: float = 0,
    ) -> int:
        """Queue a text message; '/command' and '@username' get their entities, as Telegram sends
        them. `topic`: posted in that forum topic; `age_s`: sent that long ago (a backlog). Returns
        its message id."""
        message = self._message(chat, user, text=text, entities=_entities(text))
        message["date"] -= int(age_s)
        if reply_to_bot:
            message["reply_to_message"] = self._message(chat, BOT_USER, text="earlier reply")
        if topic is not None:
            message.update(message_thread_id=topic, is_topic_message=True)
        return self._push(message)

    def send_sticker(self, chat: dict, user: dict) -> int:
        sticker = {
            "file_id": "sticker-file",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._push(self._message(chat, user, sticker=sticker))

    def redeliver(self) -> None:
        """Send every update again, already-confirmed ones included, as Telegram may after a
        failover."""
        with self._changed:
            self._updates = list(self._history)
            self._changed.notify_all()

    def fail(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        description: str = "Too Many Requests: retry later",
        after: int = 0,
    ) -> None:
        """The next `times` calls of `method` fail (after `after` calls that still succeed)."""
        with self._changed:
            self._failures[method] = Failure(status, description, times, retry_after, after)

    def slow(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls of `method` succeed, but answer only after `seconds`."""
        with self._changed:
            self._slow[method] = [seconds, times]

    def garble(self, method: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` succeed, answered 200 with a body that is not JSON."""
        with self._changed:
            self._garbled[method] = times

    def revoke_token(self) -> None:
        """From now on every call is answered 401, as Telegram does once a token is revoked."""
        with self._changed:
            self.token = "revoked"
            self._changed.notify_all()

    def failures_left(self, method: str) -> int:
        with self._changed:
            failure = self._failures.get(method)
            return failure.times if failure else 0

    # --- what the bot did ------------------------------------------------------------------------
    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        with self._changed:
            return [
                c
                for c in self.calls
                if c.method == method and (chat_id is None or c.chat_id == chat_id)
            ]

    def texts_to(self, chat_id: int, topic: int | None = None) -> list[str]:
        """What the chat (or topic) received: failed attempts are not counted."""
        return [
            c.params["text"] for c in self.sent("sendMessage", chat_id) if c.topic == topic and c.ok
        ]

    def drafts_to(self, chat_id: int) -> list[tuple[int, str]]:
        """The drafts the chat was shown (sendMessageDraft): (draft id, text), in order."""
        return [
            (int(c.params["draft_id"]), c.params["text"])
            for c in self.sent("sendMessageDraft", chat_id)
            if c.ok
        ]

    def unconfirmed(self) -> list[dict]:
        """The updates the bot has not confirmed yet (by a later getUpdates offset)."""
        with self._changed:
            return list(self._updates)

    def poke(self) -> None:
        """Wake `wait_for` callers so they re-check their condition (something outside changed)."""
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (result := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out waiting for {what}; calls: {[c.method for c in self.calls]}"
                    )
                self._changed.wait(left)
            return result

    def wait_for_texts(self, chat_id: int, count: int, timeout: float = 10.0) -> list[str]:
        return self.wait_for(
            lambda: len(self.texts_to(chat_id)) >= count and self.texts_to(chat_id),
            timeout,
            f"{count} messages to chat {chat_id}",
        )

    # --- the server side -------------------------------------------------------------------------
    def answer(self, token: str, method: str, params: dict[str, str]) -> tuple[int, dict | bytes]:
        status, body = self._answer(token, method, params)
        with self._changed:
            slow, garbled = self._slow.get(method), self._garbled.get(method, 0)
            if slow and slow[1] > 0:
                slow[1] -= 1
            else:
                slow = None
            if garbled and status == 200:
                self._garbled[method] = garbled - 1
                body = b"<html>502 Bad Gateway</html>"
        if slow:
            time.sleep(slow[0])
        return status, body

    def _answer(self, token: str, method: str, params: dict[str, str]) -> tuple[int, dict]:
        if token != self.token:
            self.rejected_tokens.append(token)
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        with self._changed:
            self.calls.append(Call(method, params))
            self._changed.notify_all()
            failure = self._failures.get(method)
            if failure and failure.after > 0:
                failure.after -= 1
            elif failure and failure.times > 0:
                failure.times -= 1
                self.calls[-1].ok = False
                body = {
                    "ok": False,
                    "error_code": failure.status,
                    "description": failure.description,
                }
                if failure.retry_after is not None:
                    body["parameters"] = {"retry_after": failure.retry_after}
                return failure.status, body
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._updates_after(params)}
        if method == "sendMessageDraft" and not _valid_draft(params):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: bad draft"}
        result = self._result_of(method, params)
        if result is None:
            return 404, {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        return 200, {"ok": True, "result": result}

    def _result_of(self, method: str, params: dict[str, str]):
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
            sent = self._message(chat, BOT_USER, text=params["text"])
            if "message_thread_id" in params:
                sent.update(
                    message_thread_id=int(params["message_thread_id"]), is_topic_message=True
                )
            return sent
        if method == "sendMessageDraft":  # checked in answer(): private chats, a non-zero id
            return True
        if method in ("sendChatAction", "setMyCommands", "deleteWebhook", "setWebhook", "close"):
            return True
        return None

    def _updates_after(self, params: dict[str, str]) -> list[dict]:
        # As Telegram: asking with offset N confirms (forgets) every update below N; unconfirmed
        # ones are sent again on every call until then.
        offset = int(params.get("offset", 0) or 0)
        deadline = time.monotonic() + min(float(params.get("timeout", 0) or 0), 5.0)
        with self._changed:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while (
                not self._updates
                and not self._closing
                and (left := deadline - time.monotonic()) > 0
            ):
                self._changed.wait(left)
            return list(self._updates)

    def _push(self, message: dict) -> int:
        with self._changed:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, "message": message})
            self._history.append(self._updates[-1])
            self._changed.notify_all()
            return message["message_id"]

    def _message(self, chat: dict, sender: dict, **content) -> dict:
        with self._changed:
            message_id = self._next_message_id
            self._next_message_id += 1
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            **content,
        }


def _valid_draft(params: dict[str, str]) -> bool:
    """As Telegram: drafts go to private chats only, with a non-zero id and 1-4096 characters."""
    text = params.get("text", "")
    return (
        int(params["chat_id"]) > 0 and int(params.get("draft_id", 0)) != 0 and 0 < len(text) <= 4096
    )


def _entities(text: str) -> list[dict]:
    entities = [
        {"type": "mention", "offset": m.start(), "length": len(m.group())}
        for m in re.finditer(r"@\w+", text)
    ]
    if command := re.match(r"/\w+(@\w+)?", text):
        entities.insert(0, {"type": "bot_command", "offset": 0, "length": len(command.group())})
        entities = [
            e for e in entities if e["type"] == "bot_command" or e["offset"] >= command.end()
        ]
    return entities


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # a client that hung up mid long-poll (the bot stopping) is normal here
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(api: BotApiStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            match = re.fullmatch(r"/bot([^/]+)/(\w+)", self.path)
            if match is None:
                return self._reply(
                    404, {"ok": False, "error_code": 404, "description": "Not Found"}
                )
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if (
                len(body) < length
            ):  # the client died mid-request (a SIGKILLed bot): Telegram never saw it
                return
            params = dict(parse_qsl(body.decode("utf-8")))
            self._reply(*api.answer(match.group(1), match.group(2), params))

        do_GET = do_POST

        def _reply(self, status: int, body: dict | bytes) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

    return Handler
