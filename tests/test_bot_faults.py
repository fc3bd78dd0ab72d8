"""Faults a real `tinktalker bot` process meets at run time: a message no store can hold as sent, a
token Telegram revokes while the bot runs."""

from __future__ import annotations

import signal
import sqlite3

from tests.bot_api_stand_in import BotApiStandIn
from tests.bot_run import ALICE, BOB, TOKEN, private
from tests.test_bot_crash import slow_model_server, start_bot


def test_a_lone_surrogate_is_answered_and_stops_no_one(tmp_path):
    db = tmp_path / "bot.sqlite3"
    with BotApiStandIn(TOKEN) as api, slow_model_server(0) as model:
        bot = start_bot(api, model, db)
        try:
            api.wait_for(lambda: api.sent("getUpdates") or bot.poll() is not None, 60, "a poll")
            api.say(private(ALICE), ALICE, "broken \ud800 text")  # sent as the JSON escape \ud800
            api.say(private(BOB), BOB, "hello")
            api.wait_for(
                lambda: (api.texts_to(ALICE["id"]) and api.texts_to(BOB["id"])) or bot.poll(),
                30,
                "both replies",
            )
        finally:
            bot.send_signal(signal.SIGTERM)
            _, err = bot.communicate(timeout=30)
    assert bot.returncode == 0, err[-3000:]
    assert api.texts_to(ALICE["id"]) == ["re: broken \ufffd text"]
    assert api.texts_to(BOB["id"]) == ["re: hello"]
    assert api.unconfirmed() == []
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT text FROM inbox ORDER BY update_id").fetchall() == [
            ("broken \ufffd text",),
            ("hello",),
        ]


def test_a_token_revoked_while_running_stops_the_bot_with_one_line_and_exit_2(tmp_path):
    with BotApiStandIn(TOKEN) as api, slow_model_server(0) as model:
        bot = start_bot(api, model, tmp_path / "bot.sqlite3")
        try:
            api.wait_for(lambda: api.sent("getUpdates") or bot.poll() is not None, 60, "a poll")
            api.say(private(ALICE), ALICE, "hello")
            api.wait_for(lambda: api.texts_to(ALICE["id"]) or bot.poll(), 30, "the reply")
            api.revoke_token()
            _, err = bot.communicate(timeout=60)
        finally:
            if bot.poll() is None:
                bot.kill()
                bot.communicate()
    assert bot.returncode == 2, err[-3000:]
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert errors[-1].startswith("tinktalker: error: Telegram rejected TELEGRAM_TOKEN while"), err
    assert "Traceback" not in err and "still running" not in err, err[-3000:]
    assert TOKEN not in err
