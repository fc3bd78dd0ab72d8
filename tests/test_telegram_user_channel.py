"""TelegramUserChannel with a fake Bot: splitting long replies, the typing indicator, blocked
users."""

from __future__ import annotations

import asyncio
import logging

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from devkit.bot_fakes import FakeTelegramBot
from tinktalker.adapters.telegram.user_channel import TelegramUserChannel, split_message
from tinktalker.domain.dialogue import Conversation as C
from tinktalker.domain.errors import DeliveryFailed


def channel_on(bot: FakeTelegramBot, **settings) -> TelegramUserChannel:
    values = {"typing_interval_s": 4.0, "send_retries": 0, "send_backoff_s": 0.0, **settings}
    return TelegramUserChannel(bot, **values)


def test_a_short_text_is_one_piece():
    assert split_message("  привет  ") == ["привет"]
    assert split_message("   ") == []


def test_long_text_splits_at_the_last_paragraph_break_that_fits():
    paragraph = ("Акции растут. " * 100).strip()  # 1399 characters
    pieces = split_message("\n\n".join([paragraph] * 3), 4096)
    assert pieces == [paragraph + "\n\n" + paragraph, paragraph]


def test_a_long_paragraph_splits_after_a_sentence():
    text = "Акции растут. " * 400
    pieces = split_message(text, 4096)
    assert all(len(p) <= 4096 and p.endswith("растут.") for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_without_breaks_it_cuts_after_a_sentence_or_a_word():
    text = "word " * 30 + "end. " + "x" * 10
    pieces = split_message(text, 60)
    assert all(len(p) <= 60 for p in pieces)
    assert all(not p.endswith("wor") for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_a_word_longer_than_the_limit_is_cut_where_the_limit_falls():
    assert split_message("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]


def test_length_is_counted_in_utf16_units_as_telegram_does():
    pieces = split_message("😀" * 3000)  # each emoji is two UTF-16 units
    assert [len(p) for p in pieces] == [2048, 952]


def test_send_reply_sends_every_piece_in_order():
    bot = FakeTelegramBot()
    channel = channel_on(bot, max_message_length=20)
    asyncio.run(channel.send_reply(C("-100"), "first part here. second part here. third"))
    assert bot.messages == [
        (-100, "first part here."),
        (-100, "second part here."),
        (-100, "third"),
    ]


def test_a_user_who_blocked_the_bot_is_logged_not_raised(caplog):
    bot = FakeTelegramBot()
    bot.errors[5] = [Forbidden("Forbidden: bot was blocked by the user")]
    with caplog.at_level(logging.WARNING):
        asyncio.run(channel_on(bot).send_reply(C("5"), "hello"))
    assert bot.messages == []
    assert "chat 5" in caplog.text and "blocked" in caplog.text


@pytest.mark.parametrize(
    "error",
    [BadRequest("Bad Request: message thread not found"), ChatMigrated(-1001), Conflict("x")],
)
def test_every_other_telegram_error_is_a_delivery_failure_and_is_not_retried(error):
    bot = FakeTelegramBot()
    bot.errors[5] = [error]
    with pytest.raises(DeliveryFailed, match=type(error).__name__):
        asyncio.run(channel_on(bot, send_retries=3).send_reply(C("5"), "hello"))
    assert bot.messages == [] and bot.errors[5] == []  # one attempt: sending again cannot help


def test_a_piece_that_fails_for_the_network_is_sent_again_and_the_reply_resumes_there():
    bot = FakeTelegramBot()
    channel = channel_on(bot, send_retries=2, max_message_length=20)
    bot.fail_piece(2, [NetworkError("Bad Gateway"), TimedOut()])
    asyncio.run(channel.send_reply(C("5"), "first part here. second part here. third"))
    assert bot.messages == [(5, "first part here."), (5, "second part here."), (5, "third")]
    assert bot.attempts == 5  # the second piece three times, the others once


def test_a_piece_still_failing_after_the_retries_is_a_delivery_failure():
    bot = FakeTelegramBot()
    channel = channel_on(bot, send_retries=1, max_message_length=20)
    bot.fail_piece(2, [NetworkError("Bad Gateway")] * 2)
    with pytest.raises(DeliveryFailed, match="Bad Gateway"):
        asyncio.run(channel.send_reply(C("5"), "first part here. second part here. third"))
    assert bot.messages == [(5, "first part here.")] and bot.attempts == 3


def test_typing_is_resent_every_interval_until_the_block_ends():
    bot = FakeTelegramBot()
    channel = channel_on(bot, typing_interval_s=0.05)

    async def scenario() -> int:
        async with channel.typing(C("7")):
            await asyncio.sleep(0.23)
        seen = len(bot.actions)
        await asyncio.sleep(0.15)  # nothing more once the reply is out
        assert len(bot.actions) == seen
        return seen

    seen = asyncio.run(scenario())
    assert 3 <= seen <= 6  # ~0.23 s / 0.05 s, with slack for a busy machine
    assert {(chat, action) for chat, action, _ in bot.actions} == {(7, "typing")}
    gaps = [b[2] - a[2] for a, b in zip(bot.actions, bot.actions[1:], strict=False)]
    assert all(gap >= 0.04 for gap in gaps)


def test_a_failing_typing_action_never_breaks_the_reply():
    bot = FakeTelegramBot()
    bot.errors[7] = [NetworkError("connection reset")]
    channel = channel_on(bot, typing_interval_s=0.02)

    async def scenario() -> None:
        async with channel.typing(C("7")):
            await asyncio.sleep(0.07)
        await channel.send_reply(C("7"), "done")

    asyncio.run(scenario())
    assert len(bot.actions) >= 2  # it kept trying after the failure
    assert bot.messages == [(7, "done")]


def test_a_reply_goes_to_its_topic_and_only_the_first_piece_quotes_the_question():
    bot = FakeTelegramBot()
    channel = channel_on(bot, max_message_length=20)
    asyncio.run(channel.send_reply(C("-100", 7), "first part here. second part here.", reply_to=55))
    asyncio.run(channel.send_reply(C("-100"), "general", reply_to=None))
    assert bot.sent_to == [(7, 55), (7, None), (None, None)]


def test_network_trouble_and_lasting_429s_are_a_delivery_failure_worth_retrying_later():
    for error, wait in [
        (NetworkError("connection reset"), None),
        (RetryAfter(7), 7.0),
    ]:
        bot = FakeTelegramBot()
        bot.errors[5] = [error]
        try:
            asyncio.run(channel_on(bot).send_reply(C("5"), "hello"))
        except DeliveryFailed as failure:
            assert failure.retry_after_s == wait
            continue
        raise AssertionError(f"{error!r} was not a DeliveryFailed")


def test_a_timeout_is_maybe_delivered_so_a_piece_is_sent_at_most_twice():
    bot = FakeTelegramBot()
    bot.errors[5] = [TimedOut(), TimedOut(), TimedOut()]
    asyncio.run(channel_on(bot, send_retries=5).send_reply(C("5"), "hello"))
    assert bot.attempts == 2 and len(bot.errors[5]) == 1  # two tries, then taken as delivered


def test_an_unreadable_200_is_delivered_and_a_400_is_not_retried():
    bot = FakeTelegramBot()
    bot.errors[5] = [TelegramError("Invalid server response")]
    asyncio.run(channel_on(bot, send_retries=5).send_reply(C("5"), "hello"))
    assert bot.attempts == 1
    bot.errors[5] = [BadRequest("Bad Request: message text is empty")]
    with pytest.raises(DeliveryFailed):
        asyncio.run(channel_on(bot, send_retries=5).send_reply(C("5"), "hello"))
    assert bot.attempts == 2
