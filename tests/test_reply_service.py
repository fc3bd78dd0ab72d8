"""The reply service on fakes of its ports: the one set of reply rules every way of running uses."""

from __future__ import annotations

import asyncio

import pytest

from tests.fake_reply_generator import WordCountPromptMeter
from tests.fakes import FakeReplyGenerator, reply_rules
from tinktalker.domain.dialogue import GenerationOptions, Message, Reply, ReplyPiece, Speaker
from tinktalker.domain.errors import PromptTooLong, ReplyUnavailable
from tinktalker.domain.replies import ReplyService

U, B = Speaker.USER, Speaker.BOT


def service(generator=None, meter=None, **rules) -> tuple[ReplyService, FakeReplyGenerator]:
    generator = generator or FakeReplyGenerator()
    return ReplyService(generator, meter, reply_rules(**rules)), generator


def dialogue(*texts: str) -> list[Message]:
    """Alternating speakers, the last message the user's."""
    return [Message(U if (len(texts) - i) % 2 else B, t) for i, t in enumerate(texts)]


async def events_of(stream) -> list:
    return [event async for event in stream]


async def test_the_model_sees_the_last_context_size_messages():
    replies, generator = service(context_size=2)
    await replies.reply(dialogue("one", "two", "three"))
    assert generator.contexts == [(Message(B, "two"), Message(U, "three"))]


async def test_every_message_is_sanitised_whoever_wrote_it():
    replies, generator = service()
    await replies.reply(dialogue("a @@ПЕРВЫЙ@@b", "c </s>  d", "hi @@ПЕР@@ПЕРВЫЙ@@ВЫЙ@@ there"))
    assert [m.text for m in generator.contexts[0]] == ["a b", "c d", "hi there"]
    assert replies.user_message(" x @@ВТОРОЙ@@ y ") == Message(U, "x y")


async def test_a_long_prompt_loses_its_oldest_messages_then_the_start_of_the_last():
    meter = WordCountPromptMeter(context_length=20)  # 20 - 10 for the reply: 10 words of prompt
    replies, generator = service(meter=meter, max_new_tokens=10)
    await replies.reply(dialogue("old " * 5, "mid " * 4, "new " * 5))
    assert [m.text.split() for m in generator.contexts[-1]] == [["mid"] * 4, ["new"] * 5]
    words = [f"w{i}" for i in range(14)]
    await replies.reply(dialogue(" ".join(words)))
    assert generator.contexts[-1][0].text.split() == words[4:]


async def test_the_request_reply_length_and_the_prompt_limit_set_the_budget():
    meter = WordCountPromptMeter(context_length=100)
    replies, generator = service(meter=meter, max_new_tokens=10, max_prompt_tokens=3)
    await replies.reply(dialogue("a b c d e"))
    assert generator.contexts[-1][0].text.split() == ["c", "d", "e"]
    await replies.reply(dialogue("a b c d e"), GenerationOptions(max_new_tokens=98))
    assert generator.contexts[-1][0].text.split() == ["d", "e"]  # 100 - 98 leaves two
    with pytest.raises(PromptTooLong, match="100 positions"):
        await replies.reply(dialogue("a"), GenerationOptions(max_new_tokens=101))
    assert len(generator.contexts) == 2  # refused before the model was asked


async def test_without_a_meter_the_prompt_is_left_to_the_generator():
    replies, generator = service(meter=None, max_prompt_tokens=1)
    await replies.reply(dialogue("a b c d e"))
    assert generator.contexts[-1][0].text == "a b c d e"


async def test_replies_are_cleaned_and_an_empty_one_is_the_fallback_unless_asked_otherwise():
    replies, _ = service(FakeReplyGenerator(lambda c: " @@ВТОРОЙ@@ ok \n  then </s>"))
    assert (await replies.reply(dialogue("x"))).text == "ok then"
    replies, _ = service(FakeReplyGenerator(lambda c: " @@ВТОРОЙ@@  "))
    assert (await replies.reply(dialogue("x"))).text == "(silence)"
    assert (await replies.reply(dialogue("x"), fallback=False)).text == ""
    many = await replies.replies(dialogue("x"), 2, fallback=False)
    assert [r.text for r in many] == ["", ""]


async def test_n_replies_are_written_in_one_batch_of_the_same_context():
    replies, generator = service()
    got = await replies.replies(dialogue("a", "b", "c", "d"), 3)
    assert [r.text for r in got] == ["reply to d"] * 3
    assert generator.contexts == [tuple(dialogue("b", "c", "d"))] * 3


async def test_a_slow_generator_is_unavailable_after_the_timeout():
    generator = FakeReplyGenerator(delay=30.0)
    replies, _ = service(generator, timeout_s=0.05)
    with pytest.raises(ReplyUnavailable, match="no reply within 0.05 s"):
        await replies.reply(dialogue("x"))
    generator.gate = asyncio.Event()  # a stream whose replies never come
    with pytest.raises(ReplyUnavailable, match="no reply within 0.05 s"):
        await events_of(replies.stream(dialogue("x"), 1))
    assert generator.closed_streams == 1  # the generator's stream was given up


async def test_a_stream_yields_cleaned_pieces_adding_up_to_each_final_reply():
    generator = FakeReplyGenerator(lambda c: "  hi\n\nthere @@ВТОРОЙ@@ you", piece_chars=2)
    replies, _ = service(generator)
    events = await events_of(replies.stream(dialogue("x"), 2))
    final = events[-1]
    assert isinstance(final, list) and [r.text for r in final] == ["hi there you"] * 2
    pieces = events[:-1]
    assert all(isinstance(p, ReplyPiece) for p in pieces) and len(pieces) > 4
    for index in (0, 1):
        texts = [p.text for p in pieces if p.index == index]
        assert "".join(texts) == "hi there you"
        assert not any("@" in t for t in texts)  # a marker's start was held back, then dropped


async def test_a_stream_of_an_empty_reply_ends_in_the_fallback_or_nothing():
    replies, _ = service(FakeReplyGenerator(lambda c: " </s> "))
    events = await events_of(replies.stream(dialogue("x"), 1))
    assert events == [ReplyPiece(0, "(silence)"), [Reply("(silence)")]]
    events = await events_of(replies.stream(dialogue("x"), 1, fallback=False))
    assert events == [[Reply("")]]


async def test_closing_a_stream_early_closes_the_generators_stream():
    generator = FakeReplyGenerator(lambda c: "a long reply", piece_chars=1)
    generator.gate = asyncio.Event()
    replies, _ = service(generator)
    stream = replies.stream(dialogue("x"), 1)
    assert await anext(stream) == ReplyPiece(0, "a")
    await stream.aclose()
    assert generator.closed_streams == 1 and generator.contexts == []  # nothing was generated
