"""At-least-once delivery, tried as it fails in production: a real `tinktalker bot` process (http
backend against a slow fake model server) is SIGKILLed mid-reply and restarted on the same SQLite
file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from devkit.bot_api_stand_in import BotApiStandIn
from devkit.bot_run import TOKEN, private

ROOT = Path(__file__).resolve().parents[1]
USERS = [{"id": 7000 + n, "is_bot": False, "first_name": f"u{n}"} for n in range(10)]


@contextmanager
def slow_model_server(seconds: float) -> Iterator[str]:
    """The original /answer protocol: replies 're: <last message>' after `seconds`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            context = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["context"]
            time.sleep(seconds)
            body = json.dumps(f"re: {context[-1]}").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            if not isinstance(
                sys.exc_info()[1], ConnectionError
            ):  # the killed bot hung up: expected
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def start_bot(api: BotApiStandIn, model_url: str, db: Path, **settings: str) -> subprocess.Popen:
    """`tinktalker bot` on the shipped config.yml, with `settings` as extra environment
    variables."""
    env = {
        **os.environ,
        "TELEGRAM_TOKEN": TOKEN,
        "TINKTALKER_CONFIG": str(ROOT / "config.yml"),
        "TINKTALKER__STORE__SQLITE_PATH": str(db),
        "TINKTALKER__BOT__API_BASE_URL": api.base_url,
        "TINKTALKER__BOT__POLLING_TIMEOUT_S": "1",
        "TINKTALKER__GENERATOR__BACKEND": "http",
        "TINKTALKER__GENERATOR__HTTP__BASE_URL": model_url,
        "TINKTALKER__GENERATOR__HTTP__PROTOCOL": "answer",
        "TINKTALKER__LOGGING__LEVEL": "INFO",
        **settings,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tinktalker.entrypoints.cli", "bot"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_mid_reply_loses_no_message_and_the_restart_answers_in_order(tmp_path):
    db = tmp_path / "bot.sqlite3"
    asked = {u["id"]: [f"m{n} from {u['first_name']}" for n in range(3)] for u in USERS}
    with BotApiStandIn(TOKEN) as api, slow_model_server(0.5) as model:
        first = start_bot(api, model, db)
        try:
            api.wait_for(
                lambda: api.sent("getUpdates") or first.poll() is not None, 60, "the bot to poll"
            )
            for n in range(3):
                for u in USERS:
                    api.say(private(u), u, asked[u["id"]][n])
            api.wait_for(lambda: len(api.sent("sendMessage")) >= 5, 60, "the first replies")
        finally:
            first.send_signal(signal.SIGKILL)
            _, crashed_err = first.communicate(timeout=30)
        answered_before_the_kill = len(api.sent("sendMessage"))

        second = start_bot(api, model, db)
        try:
            api.wait_for(
                lambda: (
                    all(set(api.texts_to(u)) >= {f"re: {t}" for t in asked[u]} for u in asked)
                    or second.poll() is not None
                ),
                90,
                "every message to be answered",
            )
        finally:
            second.send_signal(signal.SIGTERM)
            _, err = second.communicate(timeout=30)
    assert second.returncode == 0, err[-3000:]
    assert answered_before_the_kill < 30  # the kill came mid-way, so the restart had work to do
    duplicates = 0
    for user_id, texts in asked.items():
        replies = api.texts_to(user_id)
        in_order = list(dict.fromkeys(replies))  # first occurrences, in the order they were sent
        assert in_order == [f"re: {t}" for t in texts], (user_id, replies)
        assert len(replies) - len(in_order) <= 1, (
            user_id,
            replies,
        )  # at most the one being sent at the kill
        duplicates += len(replies) - len(in_order)
    with sqlite3.connect(db) as connection:
        assert connection.execute(
            "SELECT count(*) FROM inbox WHERE finished_at IS NULL"
        ).fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM inbox").fetchone() == (30,)
    print(
        f"answered before the kill: {answered_before_the_kill}/30, duplicates after restart: "
        f"{duplicates}"
    )
