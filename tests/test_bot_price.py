"""/price and cashtags in a real `tinktalker bot` process: the Bot API, MOEX ISS and the model
server are loopback stand-ins; the model server counts its calls, so /price never reaches it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devkit.bot_api_stand_in import BotApiStandIn
from devkit.bot_run import ALICE, BOB, CAROL, DAVE, ERIN, GROUP, TOKEN, private
from tests.iss_stand_in import IssStandIn
from tinktalker.entrypoints.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TEXTS = Settings().bot.texts
S = "\u202f"
MODEL_REPLY = "Сбер мне нравится."


class ModelStandIn:
    """An OpenAI-compatible chat endpoint that always says MODEL_REPLY and counts the calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ModelStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with stand_in._lock:
                    stand_in.calls += 1
                message = {"role": "assistant", "content": MODEL_REPLY}
                body = json.dumps(
                    {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def stand_ins() -> Iterator[tuple[BotApiStandIn, IssStandIn, ModelStandIn]]:
    with BotApiStandIn(TOKEN) as api, IssStandIn() as iss, ModelStandIn() as model:
        yield api, iss, model


def _start_bot(api: BotApiStandIn, iss: IssStandIn, model: ModelStandIn, cwd: Path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TINKTALKER")},
        "TELEGRAM_TOKEN": TOKEN,
        "TINKTALKER_CONFIG": str(ROOT / "config.yml"),
        "TINKTALKER__STORE__BACKEND": "memory",
        "TINKTALKER__BOT__API_BASE_URL": api.base_url,
        "TINKTALKER__BOT__POLLING_TIMEOUT_S": "1",
        "TINKTALKER__GENERATOR__BACKEND": "http",
        "TINKTALKER__GENERATOR__HTTP__BASE_URL": model.url,
        "TINKTALKER__MARKET__ISS_URL": iss.url,
        "TINKTALKER__MARKET__TIMEOUT_S": "1",
        "TINKTALKER__MARKET__CACHE_S": "300",
    }
    executable = Path(sys.executable).parent / "tinktalker"
    return subprocess.Popen(
        [str(executable), "bot"], env=env, cwd=cwd, stderr=subprocess.PIPE, text=True
    )


def _ask(api: BotApiStandIn, user: dict, text: str, replies: int = 1) -> list[str]:
    before = len(api.texts_to(user["id"]))
    api.say(private(user), user, text)
    return api.wait_for_texts(user["id"], before + replies, timeout=20)[before:]


def test_price_answers_from_the_exchange_without_the_model(stand_ins, tmp_path):
    api, iss, model = stand_ins
    process = _start_bot(api, iss, model, tmp_path)
    try:
        api.wait_for(lambda: api.sent("getUpdates") or process.poll() is not None, 60, "polling")
        commands = json.loads(api.sent("setMyCommands")[0].params["commands"])
        assert "price" in [c["command"] for c in commands]
        assert "/price" in _ask(api, ALICE, "/help")[0]
        _check_quotes(api, iss)
        _check_five_people_make_one_request(api, iss)
        assert model.calls == 0  # not one /price reached the model
        _check_cashtags_and_failures(api, iss, model)
    finally:
        iss.release()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-3000:]


def _check_quotes(api: BotApiStandIn, iss: IssStandIn) -> None:
    sber = rf"SBER \(Сбербанк\): 315,90{S}₽, \+1,23{S}% \(\d\d:\d\d МСК\)"
    for query in ("/price SBER", "/price сбер"):
        header, line = _ask(api, ALICE, query)[0].split("\n")
        assert header == TEXTS.price_header and "15 минут" in header
        assert re.fullmatch(sber, line), line
    lines = _ask(api, ALICE, "/price sber gazp")[0].split("\n")[1:]
    assert re.fullmatch(sber, lines[0])
    assert re.fullmatch(rf"GAZP \(ГАЗПРОМ ао\): 127,31{S}₽, \u22120,93{S}% \(.+\)", lines[1])
    assert iss.asked("/SBER.json") == 1  # three asks for SBER, one request (the cache)
    assert _ask(api, ALICE, "/price vtbr")[0].split("\n")[1] == (
        f"VTBR (ВТБ ао): 71,555{S}₽, сегодня сделок ещё не было, цена закрытия 30.11.2026"
    )
    unknown = _ask(api, ALICE, "/price абырвалг офз")[0].split("\n")[1:]
    assert unknown == [
        TEXTS.price_not_found.format(query="абырвалг"),
        TEXTS.price_not_found.format(query="офз") + " Похожие: SU26238RMFS4 (ОФЗ 26238).",
    ]
    assert _ask(api, ALICE, "/price")[0] == TEXTS.price_usage
    api.say(GROUP, DAVE, "/price@tink_test_bot LKOH")
    assert "LKOH (ЛУКОЙЛ): 6" in api.wait_for_texts(GROUP["id"], 1)[0]


def _check_five_people_make_one_request(api: BotApiStandIn, iss: IssStandIn) -> None:
    people = (ALICE, BOB, CAROL, DAVE, ERIN)
    before = {user["id"]: len(api.texts_to(user["id"])) for user in people}
    for user in people:
        api.say(private(user), user, "/price ROSN")
    for user in people:
        reply = api.wait_for_texts(user["id"], before[user["id"]] + 1)[-1]
        assert f"ROSN (Роснефть): 421,05{S}₽" in reply
    assert iss.asked("/ROSN.json") == 1


def _check_cashtags_and_failures(api: BotApiStandIn, iss: IssStandIn, model: ModelStandIn) -> None:
    quote, reply = _ask(api, BOB, "что думаете про $GAZP?", replies=2)
    assert quote.startswith(TEXTS.price_header) and "GAZP (ГАЗПРОМ ао): 127,31" in quote
    assert reply == MODEL_REPLY and model.calls == 1
    iss.shares["NVTK"] = iss.shares["SBER"]  # a ticker nobody asked for yet, so not in the cache
    iss.mode = "down"
    assert _ask(api, CAROL, "/price NVTK") == [TEXTS.price_unavailable]
    iss.mode = "hold"  # slower than market.timeout_s
    assert _ask(api, CAROL, "/price NVTK") == [TEXTS.price_unavailable]
    assert _ask(api, CAROL, "привет") == [MODEL_REPLY]  # the bot keeps talking
    assert model.calls == 2
