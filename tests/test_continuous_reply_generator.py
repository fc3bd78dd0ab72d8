"""The continuous engine: the torch engine's replies, requests joining a running decode, a bounded
KV cache, streaming, seeds and failures, on a tiny random GPT-2."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

import pytest

from devkit import schema_defaults as defaults
from tests.test_torch_reply_generator import CONTEXTS
from tinktalker.adapters.model.continuous import decode_loop
from tinktalker.adapters.model.continuous.continuous_reply_generator import (
    ContinuousReplyGenerator,
    open_continuous_reply_generator,
)
from tinktalker.adapters.model.torch_reply_generator import open_torch_reply_generator
from tinktalker.domain.dialogue import GenerationOptions, ReplyPiece
from tinktalker.domain.errors import ReplyUnavailable

# Each test in a child process: a torch thread pool started here would hang a later forked test's
# first parallel region (OpenMP's pool does not survive a fork).
pytestmark = pytest.mark.forked

GREEDY = GenerationOptions(do_sample=False, num_beams=1)
BEAMS = GenerationOptions(do_sample=False, num_beams=3)


@contextmanager
def continuous(
    model, max_sequences: int = 16, sequence_tokens: int = 2048, matrices="float32", **decoding
):
    resource = open_continuous_reply_generator(
        str(model),
        decoding=defaults.decoding_values(**{"max_new_tokens": 12, **decoding}),
        markers=defaults.markers(),
        pad_to_messages=3,
        max_sequences=max_sequences,
        sequence_tokens=sequence_tokens,
        matrices=matrices,
    )
    generator = next(resource)
    try:
        yield generator
    finally:
        resource.close()


def torch_replies(model, options: GenerationOptions, **decoding):
    resource = open_torch_reply_generator(
        str(model),
        device="cpu",
        dtype="float32",
        decoding=defaults.decoding_values(**{"max_new_tokens": 12, **decoding}),
        markers=defaults.markers(),
        pad_to_messages=3,
    )
    generator = next(resource)
    try:
        return [asyncio.run(generator.generate(c, options)) for c in CONTEXTS]
    finally:
        resource.close()


def all_at_once(generator: ContinuousReplyGenerator, options: GenerationOptions):
    async def run():
        return await asyncio.gather(*(generator.generate(c, options) for c in CONTEXTS))

    return asyncio.run(run())


@pytest.mark.parametrize("options", [GREEDY, BEAMS], ids=["greedy", "beam search"])
@pytest.mark.parametrize("min_new_tokens", [0, 12])
def test_concurrent_requests_get_the_torch_engines_replies(tiny_model_dir, options, min_new_tokens):
    # the penalties and banned n-grams stay on: the same processors, the same order
    with continuous(tiny_model_dir, min_new_tokens=min_new_tokens) as generator:
        got = all_at_once(generator, options)
    assert got == torch_replies(tiny_model_dir, options, min_new_tokens=min_new_tokens)
    if min_new_tokens:
        assert all(r.completion_tokens == 12 for r in got)


def test_a_request_joins_the_running_decode_and_leaves_before_a_longer_one(tiny_model_dir):
    long = GenerationOptions(do_sample=False, num_beams=1, min_new_tokens=60, max_new_tokens=60)
    short = GenerationOptions(do_sample=False, num_beams=1, min_new_tokens=3, max_new_tokens=3)

    async def run(generator):
        finished: list[str] = []

        async def long_one():
            stream = generator.stream_batch([CONTEXTS[0]], long)
            first = await anext(stream)  # it is being written now
            assert isinstance(first, ReplyPiece)
            joined.set()
            async for event in stream:
                last = event
            finished.append("long")
            return last

        async def short_one():
            await joined.wait()
            reply = await generator.generate(CONTEXTS[1], short)
            finished.append("short")
            return reply

        joined = asyncio.Event()
        long_reply, short_reply = await asyncio.gather(long_one(), short_one())
        return finished, long_reply[0], short_reply

    with continuous(tiny_model_dir, max_new_tokens=60) as generator:
        finished, long_reply, short_reply = asyncio.run(run(generator))
        assert generator.loop.peak_rows == 2  # both decoded side by side
    assert finished == ["short", "long"]
    assert long_reply.completion_tokens == 60 and short_reply.completion_tokens == 3


def test_the_kv_cache_bound_holds_and_waiting_requests_still_get_answers(tiny_model_dir):
    with continuous(tiny_model_dir, max_sequences=2, num_beams=1, min_new_tokens=12) as generator:
        got = all_at_once(generator, GREEDY)
        assert generator.loop.peak_rows == 2 and generator.loop.rows_in_use == 0
        with pytest.raises(ReplyUnavailable, match="continuous.max_sequences"):
            asyncio.run(generator.generate(CONTEXTS[0], BEAMS))  # 3 beams need 3 rows
    assert got == torch_replies(tiny_model_dir, GREEDY, min_new_tokens=12)


def test_prompts_are_cut_to_the_sequence_length(tiny_model_dir):
    with continuous(tiny_model_dir, sequence_tokens=20, min_new_tokens=12) as generator:
        reply = asyncio.run(generator.generate(CONTEXTS[1], GREEDY))
    assert reply.prompt_tokens == 20 - 12 and reply.completion_tokens == 12


def test_streamed_pieces_add_up_to_each_reply_and_a_closed_stream_frees_its_rows(tiny_model_dir):
    options = GenerationOptions(do_sample=True, num_beams=1, min_new_tokens=12)

    async def streamed(generator):
        texts = ["", ""]
        async for event in generator.stream_batch(CONTEXTS[:2], options):
            if isinstance(event, ReplyPiece):
                texts[event.index] += event.text
            else:
                replies = event
        return texts, replies

    async def closed_early(generator):
        stream = generator.stream_batch(
            CONTEXTS[:1], GenerationOptions(num_beams=1, min_new_tokens=90)
        )
        await anext(stream)
        await stream.aclose()

    with continuous(tiny_model_dir, max_new_tokens=90) as generator:
        texts, replies = asyncio.run(streamed(generator))
        asyncio.run(closed_early(generator))
        for _ in range(200):  # the loop frees the rows at its next step
            if generator.loop.rows_in_use == 0:
                break
            asyncio.run(asyncio.sleep(0.01))
        assert generator.loop.rows_in_use == 0
    # the port's promise: a prefix (an unfinished character at the very end comes only whole)
    assert all(
        r.text.startswith(t.strip()) and len(t) > len(r.text) - 3
        for t, r in zip(texts, replies, strict=True)
    )


def test_a_seed_gives_the_same_sampled_reply_and_top_k_1_is_greedy(tiny_model_dir):
    seeded = GenerationOptions(do_sample=True, num_beams=1, seed=7, min_new_tokens=12)
    top_1 = GenerationOptions(do_sample=True, num_beams=1, top_k=1, min_new_tokens=12)
    greedy = GenerationOptions(do_sample=False, num_beams=1, min_new_tokens=12)
    with continuous(tiny_model_dir) as generator:
        first = asyncio.run(generator.generate(CONTEXTS[1], seeded))
        again = asyncio.run(generator.generate(CONTEXTS[1], seeded))
        other = asyncio.run(
            generator.generate(
                CONTEXTS[1],
                GenerationOptions(do_sample=True, num_beams=1, seed=8, min_new_tokens=12),
            )
        )
        assert all_at_once(generator, top_1) == all_at_once(generator, greedy)
    assert first == again and first.text != other.text


def test_a_caller_stop_string_cuts_the_reply(tiny_model_dir):
    with continuous(tiny_model_dir, min_new_tokens=12) as generator:
        whole = asyncio.run(generator.generate(CONTEXTS[1], GREEDY))
        stop = whole.text.split()[1] if len(whole.text.split()) > 1 else whole.text[3:6]
        cut = asyncio.run(
            generator.generate(
                CONTEXTS[1], GenerationOptions(do_sample=False, num_beams=1, stop=(stop,))
            )
        )
    assert cut.text == whole.text.split(stop, 1)[0].strip() and cut.finish_reason == "stop"


def test_a_failed_step_fails_its_requests_and_the_loop_goes_on(tiny_model_dir, monkeypatch):
    real = decode_loop.step
    calls = {"n": 0}

    def fails_once(*args):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("out of memory")
        return real(*args)

    monkeypatch.setattr(decode_loop, "step", fails_once)
    with continuous(tiny_model_dir, min_new_tokens=12) as generator:
        with pytest.raises(ReplyUnavailable, match="out of memory"):
            asyncio.run(generator.generate(CONTEXTS[0], GREEDY))
        assert generator.loop.rows_in_use == 0
        reply = asyncio.run(generator.generate(CONTEXTS[0], GREEDY))
    assert reply.completion_tokens == 12


@pytest.mark.parametrize("beams", [1, 3])
def test_each_rows_candidates_are_what_hugging_faces_processors_leave(beams):
    import torch
    from transformers import NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor

    from tinktalker.adapters.model.continuous.token_choice import (
        Row,
        TokenChoice,
        best_candidates,
    )
    from tinktalker.adapters.model.top_k_top_p_warper import TopKTopPWarper

    torch.manual_seed(0)
    decoding = defaults.decoding(num_beams=beams, min_new_tokens=4)
    stop_ids = (7, 9)
    histories = [[1, 5, 2, 5, 3], [4, 4, 8, 6, 1, 2, 3, 1], [2, 9, 2]]  # 2 prompt tokens each
    logits = torch.randn(len(histories), 40) * 3
    choice = TokenChoice(decoding, stop_ids, None)
    scores, ids = best_candidates(logits, [Row(choice, h, len(h) - 2) for h in histories])

    keep = len(stop_ids) + 1 if beams > 1 else 1
    warper = TopKTopPWarper(decoding.temperature, decoding.top_k, decoding.top_p, keep)
    for row, history in enumerate(histories):
        one = torch.tensor([history])
        e = logits[row : row + 1].clone()
        e = e.log_softmax(-1) if beams > 1 else e
        e = RepetitionPenaltyLogitsProcessor(decoding.repetition_penalty)(one, e)
        e = NoRepeatNGramLogitsProcessor(decoding.no_repeat_ngram_size)(one, e)
        if len(history) - 2 < decoding.min_new_tokens:  # rows 0 and 2
            e[:, list(stop_ids)] = -float("inf")
        e = warper(one, e)[0]
        finite = {
            int(i): float(v)
            for i, v in zip(ids[row], scores[row], strict=True)
            if v > -float("inf")
        }
        assert finite == pytest.approx(
            {i: float(e[i]) for i in range(40) if e[i] > -float("inf")}, rel=1e-5
        )


def test_int8_matrices_answer_concurrent_requests_and_stay_close_to_float32(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    from tinktalker.adapters.model.continuous.gpt2_forward import Joining, step
    from tinktalker.adapters.model.continuous.gpt2_weights import Gpt2Weights
    from tinktalker.adapters.model.continuous.kv_cache import KvCache

    with continuous(tiny_model_dir, matrices="int8", min_new_tokens=12) as generator:
        got = all_at_once(generator, GREEDY)
        assert "int8 matrices (oneDNN)" in generator.runs_as
    assert all(r.completion_tokens == 12 and r.prompt_tokens > 0 for r in got)

    torch.backends.quantized.engine = "onednn"
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    exact = Gpt2Weights.of(model, torch.float32)
    int8 = exact.with_int8()
    config = model.config
    prompt = Joining(0, list(range(3, 30)))
    with torch.inference_mode():
        logits = [
            step(
                w,
                KvCache(config.n_layer, config.n_head, 16, 1, 64, torch.float32),
                [],
                [],
                [prompt],
            )[0]
            for w in (exact, int8)
        ]
    similarity = torch.nn.functional.cosine_similarity(logits[0], logits[1], dim=0)
    assert similarity > 0.99 and not torch.equal(logits[0], logits[1])
