"""In-process engines and their streams: a closed stream stops the model, and CTranslate2's step
callback never keeps the generator (and so the engine) alive on a worker thread."""

import asyncio
import gc
import threading
import weakref

import pytest

from devkit import schema_defaults as defaults
from tests.test_torch_reply_generator import CONTEXTS
from tinktalker.adapters.model.ctranslate2_reply_generator import open_ctranslate2_reply_generator
from tinktalker.adapters.model.torch_reply_generator import open_torch_reply_generator
from tinktalker.domain.dialogue import GenerationOptions, ReplyPiece

pytestmark = pytest.mark.forked  # a native crash fails one named test, not the run
GREEDY = GenerationOptions(do_sample=False, num_beams=1)
LONG = defaults.decoding_values(max_new_tokens=100, min_new_tokens=100, repetition_penalty=1.0)


def opened(engine: str, model, cache, **extra):
    if engine == "torch":
        return open_torch_reply_generator(
            str(model),
            device="cpu",
            dtype="float32",
            decoding=LONG,
            markers=defaults.markers(),
            pad_to_messages=1,
        )
    return open_ctranslate2_reply_generator(
        str(model), device="cpu", quantization="float32", cache_dir=str(cache),
        decoding=LONG, markers=defaults.markers(), pad_to_messages=1, **extra,
    )  # fmt: skip


@pytest.mark.parametrize("engine", ["torch", "ctranslate2"])
def test_closing_a_stream_stops_its_rows_at_the_next_step(engine, tiny_model_dir, tmp_path):
    resource = opened(engine, tiny_model_dir, tmp_path)
    generator = next(resource)
    written = []
    original = generator.generate_now

    def recorded(*args):
        written.append(original(*args))
        return written[-1]

    generator.generate_now = recorded
    left = threading.Event()  # the model waits after its first piece until the client has left
    streamer_of = generator._row_streamer

    def pausing_streamer(rows, decoding, stops, hand_over):
        def paused(row: int, text: str) -> None:
            hand_over(row, text)
            left.wait(30)

        return streamer_of(rows, decoding, stops, paused)

    generator._row_streamer = pausing_streamer

    async def leave_after_the_first_piece() -> object:
        stream = generator.stream_batch(CONTEXTS[:2], GREEDY)
        first = await anext(stream)
        await stream.aclose()  # the client hung up
        left.set()
        return first

    try:
        first = asyncio.run(leave_after_the_first_piece())
        generator.close()  # waits for the model's call to return
    finally:
        resource.close()
    assert isinstance(first, ReplyPiece)  # it left mid-reply
    assert written and all(reply.completion_tokens < 100 for reply in written[0])


def test_the_step_callback_does_not_keep_the_generator_alive(tiny_model_dir, tmp_path):
    # CTranslate2's workers drop their copy of the callback after the call has returned; when that
    # copy held the last reference, the engine was freed on its own worker, which joins itself: the
    # `Fatal Python error: Aborted` of the test runs. Here the copies are kept as a worker keeps
    # them.
    resource = opened("ctranslate2", tiny_model_dir, tmp_path, threads=2, parallel_batches=2)
    generator = next(resource)
    engine, kept = generator._generator, []

    class KeepsCallbacks:
        def generate_batch(self, tokens, **kwargs):
            kept.append(kwargs.get("callback"))
            return engine.generate_batch(tokens, **kwargs)

    generator._generator = KeepsCallbacks()

    async def streamed() -> list:
        # called before the `del generator` below, which is what ruff's F821 sees
        async for event in generator.stream_batch(CONTEXTS[:4], GREEDY):  # noqa: F821
            if isinstance(event, list):
                return event
        raise AssertionError("no replies")

    assert len(asyncio.run(streamed())) == 4
    alive = weakref.ref(generator)
    del generator
    resource.close()
    gc.collect()
    assert kept and kept[0] is not None and alive() is None
