"""The hop from a model's (or a native engine's) thread to the event loop never raises into
that thread."""

import asyncio
from types import SimpleNamespace

from tinktalker.adapters.model.ctranslate2_reply_generator import _step
from tinktalker.adapters.model.piece_hand_over import PieceHandOver


def test_pieces_after_the_loop_closed_are_dropped_and_say_stop():
    loop = asyncio.new_event_loop()
    got = []
    hand_over = PieceHandOver(loop, got.append)
    loop.close()
    hand_over(0, "late")  # a model thread still writing after the request's loop ended
    assert hand_over.given_up and got == []


def test_a_failing_streamer_never_raises_into_the_engine_thread(caplog):
    class Broken:
        def push(self, row: int, token: int) -> None:
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad byte")

    loop = asyncio.new_event_loop()
    try:
        hand_over = PieceHandOver(loop, lambda piece: None)
        step = SimpleNamespace(batch_id=0, token_id=7)
        assert _step(Broken(), hand_over, step) is False  # the row goes on; its reply comes whole
        assert _step(Broken(), hand_over, step) is False
    finally:
        loop.close()
    assert caplog.text.count("streaming pieces failed") == 1


def test_a_closed_stream_tells_the_engine_to_stop_its_rows():
    loop = asyncio.new_event_loop()
    try:
        hand_over = PieceHandOver(loop, lambda piece: None)
        pushed = []
        streamer = SimpleNamespace(push=lambda row, token: pushed.append(token))
        assert _step(streamer, hand_over, SimpleNamespace(batch_id=0, token_id=1)) is False
        hand_over.give_up()
        assert _step(streamer, hand_over, SimpleNamespace(batch_id=0, token_id=2)) is True
    finally:
        loop.close()
    assert pushed == [1]
