"""Faults a real `tinktalker bot` process meets at run time: a message no store can hold as sent, a
token Telegram revokes while the bot runs, a send answered too late or unreadably."""

from __future__ import annotations

import signal
import sqlite3

from devkit.bot_api_stand_in import BotApiStandIn
from devkit.bot_fakes import EchoContextGenerator, echo, user
from devkit.bot_run import ALICE, BOB, TOKEN, BotRun, bot_settings, private
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


def test_a_send_answered_after_the_clients_timeout_is_seen_at_most_twice(api):
    # python-telegram-bot waits 5 s for an answer; both tries arrive, but answer too late
    api.slow("sendMessage", 5.5, times=2)
    with BotRun(api, bot_settings(api, None, send_backoff_s=0.1), EchoContextGenerator()):
        api.say(private(ALICE), ALICE, "hello")
        api.wait_for(lambda: len(api.sent("sendMessage")) >= 2, 20, "the second try")
        api.say(private(ALICE), ALICE, "again")  # handled after the first reply is settled
        api.wait_for(lambda: any("again" in t for t in api.texts_to(ALICE["id"])), 30, "reply")
    first = echo([user("hello")])
    assert api.texts_to(ALICE["id"]).count(first) == 2  # one duplicate, no more
    assert all("again" in t for t in api.texts_to(ALICE["id"])[2:])


def test_a_send_answered_200_with_an_unreadable_body_counts_as_delivered(api):
    api.garble("sendMessage")
    settings = bot_settings(api, None, send_backoff_s=0.1)
    with BotRun(api, settings, EchoContextGenerator()):
        api.say(private(ALICE), ALICE, "hello")
        api.wait_for_texts(ALICE["id"], 1)
        api.say(private(ALICE), ALICE, "again")
        api.wait_for_texts(ALICE["id"], 2)
    texts = api.texts_to(ALICE["id"])
    assert texts[0] == echo([user("hello")])
    assert settings.dialogue.unavailable_reply not in texts
    assert len(texts) == 2
