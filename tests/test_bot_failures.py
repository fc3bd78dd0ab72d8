"""End to end: the bot survives a dead or slow generator, Telegram's 429s and blocked users; the
token never reaches a log; a restarted bot continues every conversation from the SQLite file."""

from __future__ import annotations

import logging
import sqlite3
import time

from devkit.bot_fakes import EchoContextGenerator, echo, user
from devkit.bot_run import ALICE, BOB, DAVE, GROUP, TOKEN, BotRun, bot_settings, private
from tinktalker.domain.dialogue import Message, Speaker


def test_a_dead_generator_yields_the_apology_and_the_bot_recovers_by_itself(api):
    generator = EchoContextGenerator()
    settings = bot_settings(api, None)
    apology = settings.dialogue.unavailable_reply
    with BotRun(api, settings, generator):
        generator.go_down()
        api.say(private(ALICE), ALICE, "are you there?")
        assert api.wait_for_texts(ALICE["id"], 1) == [apology]
        generator.failure = RuntimeError(
            "CUDA error: an illegal memory access"
        )  # not a ReplyUnavailable
        api.say(private(ALICE), ALICE, "and now?")
        assert api.wait_for_texts(ALICE["id"], 2)[1] == apology
        generator.failure = None
        api.say(private(ALICE), ALICE, "back?")
        assert api.wait_for_texts(ALICE["id"], 3)[2] == echo([user("back?")])


def test_a_generator_slower_than_the_timeout_yields_the_apology_in_time(api):
    generator = EchoContextGenerator(slow_s=30)
    settings = bot_settings(api, None, dialogue={"reply_timeout_s": 1})
    with BotRun(api, settings, generator):
        api.say(private(BOB), BOB, "slow question")
        asked = time.monotonic()
        assert api.wait_for_texts(BOB["id"], 1) == [settings.dialogue.unavailable_reply]
        assert time.monotonic() - asked < 3.0  # 1 s timeout + delivery slack on a busy machine
        api.say(private(BOB), BOB, "quick one")
        assert api.wait_for_texts(BOB["id"], 2)[1] == echo([user("quick one")])


def test_a_429_from_telegram_is_waited_out_and_the_reply_still_lands(api):
    with BotRun(api, bot_settings(api, None), EchoContextGenerator()):
        api.fail("sendMessage", times=1, retry_after=1)
        api.say(private(ALICE), ALICE, "hello")
        attempts = api.wait_for(
            lambda: len(api.sent(chat_id=ALICE["id"])) >= 2 and api.sent(chat_id=ALICE["id"]),
            what="the retried sendMessage",
        )
        api.say(private(BOB), BOB, "still alive?")
        api.wait_for_texts(BOB["id"], 1)
    assert [a.params["text"] for a in attempts] == [echo([user("hello")])] * 2
    assert attempts[1].at - attempts[0].at >= 1.0  # retry_after honoured


def test_polling_survives_a_bot_api_that_fails_for_a_while(api):
    with BotRun(api, bot_settings(api, None), EchoContextGenerator()):
        api.fail("getUpdates", times=1, retry_after=1)
        api.wait_for(lambda: api.failures_left("getUpdates") == 0, what="the 429 to be served")
        api.fail("getUpdates", times=1, status=502, retry_after=None, description="Bad Gateway")
        api.say(private(ALICE), ALICE, "anyone home?")
        assert api.wait_for_texts(ALICE["id"], 1, timeout=15) == [echo([user("anyone home?")])]
    assert api.failures_left("getUpdates") == 0


def test_a_user_who_blocked_the_bot_is_logged_and_others_are_still_served(api, caplog):
    with (
        BotRun(api, bot_settings(api, None), EchoContextGenerator()),
        caplog.at_level(logging.WARNING),
    ):
        api.fail(
            "sendMessage",
            times=1,
            status=403,
            retry_after=None,
            description="Forbidden: bot was blocked by the user",
        )
        api.say(private(ALICE), ALICE, "bye forever")
        api.wait_for(lambda: api.sent(chat_id=ALICE["id"]), what="the refused sendMessage")
        api.say(private(BOB), BOB, "hello")
        assert api.wait_for_texts(BOB["id"], 1) == [echo([user("hello")])]
    assert "chat 1001" in caplog.text and "blocked" in caplog.text


def test_the_token_never_appears_in_the_logs(api, caplog):
    generator = EchoContextGenerator()
    with caplog.at_level(logging.DEBUG):
        with BotRun(api, bot_settings(api, None), generator):
            api.fail("sendMessage", times=1, retry_after=1)
            api.say(private(ALICE), ALICE, "hello")
            api.wait_for(lambda: len(api.sent(chat_id=ALICE["id"])) >= 2, what="the retried reply")
            generator.failure = RuntimeError("boom")
            api.say(GROUP, DAVE, "@tink_test_bot hi")
            api.wait_for_texts(GROUP["id"], 1)
    logged = caplog.text
    assert (
        len(caplog.records) > 50 and "getUpdates" in logged
    )  # the client's debug chatter was captured...
    secret_part = TOKEN.split(":")[1]
    assert TOKEN not in logged and secret_part not in logged  # ...with the token masked everywhere
    assert "<redacted>" in logged
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


def test_a_restarted_bot_continues_every_conversation(api, tmp_path):
    db = tmp_path / "history.sqlite3"
    with BotRun(api, bot_settings(api, db), EchoContextGenerator()):
        api.say(private(ALICE), ALICE, "my name is Alice")
        api.say(private(BOB), BOB, "my name is Bob")
        first_alice = api.wait_for_texts(ALICE["id"], 1)[0]
        api.wait_for_texts(BOB["id"], 1)
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM messages").fetchone() == (4,)

    with BotRun(api, bot_settings(api, db), EchoContextGenerator()):
        api.say(private(ALICE), ALICE, "what is my name?")
        replies = api.wait_for_texts(ALICE["id"], 2)
    assert replies[1] == echo(
        [user("my name is Alice"), Message(Speaker.BOT, first_alice), user("what is my name?")]
    )


def test_a_reply_telegram_could_not_take_is_sent_again_with_backoff_and_remembered_once(
    api, tmp_path
):
    db = tmp_path / "history.sqlite3"
    settings = bot_settings(api, db, send_retries=3, send_backoff_s=0.2)
    with BotRun(api, settings, EchoContextGenerator()):
        api.fail("sendMessage", times=2, status=502, retry_after=None, description="Bad Gateway")
        api.say(private(ALICE), ALICE, "through a flaky network")
        assert api.wait_for_texts(ALICE["id"], 1) == [echo([user("through a flaky network")])]
        attempts = api.sent(chat_id=ALICE["id"])
    assert len(attempts) == 3 and attempts[2].at - attempts[1].at >= 0.35  # 0.2 s, then 0.4 s
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM messages").fetchone() == (2,)
        assert connection.execute(
            "SELECT count(*) FROM inbox WHERE finished_at IS NULL"
        ).fetchone() == (0,)


def test_a_reply_that_never_gets_through_is_given_up_logged_and_not_remembered(
    api, tmp_path, caplog
):
    db = tmp_path / "history.sqlite3"
    settings = bot_settings(api, db, send_retries=1, send_backoff_s=0.1)
    with BotRun(api, settings, EchoContextGenerator()), caplog.at_level(logging.ERROR):
        api.fail("sendMessage", times=2, status=502, retry_after=None, description="Bad Gateway")
        api.say(private(ALICE), ALICE, "into the void")
        api.wait_for(lambda: len(api.sent(chat_id=ALICE["id"])) >= 2, what="two attempts")
        api.say(private(BOB), BOB, "still there?")
        api.wait_for_texts(BOB["id"], 1)
    assert "never delivered, given up" in caplog.text and len(api.sent(chat_id=ALICE["id"])) == 2
    assert api.texts_to(ALICE["id"]) == []
    with sqlite3.connect(db) as connection:
        assert connection.execute(
            "SELECT count(*) FROM messages WHERE chat_id = ?", (str(ALICE["id"]),)
        ).fetchone() == (0,)
        assert connection.execute(
            "SELECT count(*) FROM inbox WHERE finished_at IS NULL"
        ).fetchone() == (0,)


def test_a_reply_telegram_refuses_is_logged_once_not_retried_and_the_chat_goes_on(api, caplog):
    settings = bot_settings(api, None, send_retries=3, send_backoff_s=0.1)
    with BotRun(api, settings, EchoContextGenerator()), caplog.at_level(logging.WARNING):
        api.fail("sendMessage", status=400, retry_after=None, description="Bad Request: no topic")
        api.say(private(ALICE), ALICE, "/start")
        api.wait_for(lambda: api.sent(chat_id=ALICE["id"]), what="the refused greeting")
        api.say(private(ALICE), ALICE, "and now?")
        assert api.wait_for_texts(ALICE["id"], 1) == [echo([user("and now?")])]
    assert len(api.sent(chat_id=ALICE["id"])) == 2  # one attempt at the greeting: no retry
    assert "not delivered" in caplog.text and "BadRequest" in caplog.text
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]
