"""The in-process generator on a tiny random GPT-2: real loading, real `generate`."""

from __future__ import annotations

import asyncio
import time

import pytest

from devkit import schema_defaults as defaults
from devkit.tiny_model import FIRST_MARKER, SECOND_MARKER
from tinktalker.adapters.model.loading import load_model_and_tokenizer
from tinktalker.adapters.model.torch_reply_generator import TorchReplyGenerator
from tinktalker.domain.dialogue import GenerationOptions, Message, Speaker

U, B = Speaker.USER, Speaker.BOT
GREEDY = GenerationOptions(do_sample=False, num_beams=1)
CONTEXTS = [
    [Message(U, "привет")],
    [
        Message(U, "акции"),
        Message(B, "растут"),
        Message(U, "что думаешь о рынке индекс мосбиржи упал"),
    ],
    [Message(U, "hello how are you")],
    [Message(B, "дивиденды скоро"), Message(U, "купил облигации")],
]


@pytest.fixture(scope="module")
def generator(tiny_model_dir):
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), device="cpu", dtype="float32")
    generator = TorchReplyGenerator(
        model, tokenizer, defaults.decoding(max_new_tokens=12), defaults.markers(), 3
    )
    yield generator
    generator.close()


def test_loads_on_cpu_in_fp32_by_default(tiny_model_dir):
    import torch

    model, _ = load_model_and_tokenizer(str(tiny_model_dir))
    assert model.device.type == "cpu" and model.dtype == torch.float32 and not model.training


async def test_batch_equals_one_by_one_under_greedy_fp32(generator):
    # model-card penalties stay on (repetition_penalty, no_repeat_ngram_size): padding must not
    # change them
    one_by_one = [await generator.generate(c, GREEDY) for c in CONTEXTS]
    batched = await generator.generate_batch(CONTEXTS, GREEDY)
    assert batched == one_by_one
    assert any(r.completion_tokens > 0 for r in batched)  # the comparison is not of empty replies


async def test_model_card_decoding_runs_and_respects_max_new_tokens(generator):
    replies = await generator.generate_batch(CONTEXTS, GenerationOptions(max_new_tokens=5, seed=1))
    assert len(replies) == len(CONTEXTS)
    for reply in replies:
        assert reply.completion_tokens <= 5 and reply.prompt_tokens > 0
        assert (
            FIRST_MARKER not in reply.text and SECOND_MARKER not in reply.text
        )  # '@' bytes alone may appear
        assert reply.finish_reason in ("stop", "length")


async def test_a_seed_makes_sampling_repeatable(generator):
    options = GenerationOptions(seed=7)
    first = await generator.generate(CONTEXTS[1], options)
    second = await generator.generate(CONTEXTS[1], options)
    assert first == second


async def test_generation_runs_off_the_event_loop(generator):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    await generator.generate_batch(CONTEXTS * 8, GenerationOptions(max_new_tokens=12, num_beams=3))
    elapsed = time.monotonic() - started
    task.cancel()
    assert ticks >= max(
        1, int(elapsed / 0.005 * 0.3)
    )  # the loop kept turning while the model worked


async def test_prompts_longer_than_the_model_are_truncated(generator):
    huge = [Message(U, "акции растут " * 400)]
    reply = await generator.generate(
        huge, GenerationOptions(max_new_tokens=4, do_sample=False, num_beams=1)
    )
    assert reply.prompt_tokens <= generator.max_positions - 4


async def test_stop_strings_cut_the_reply(generator):
    reply = await generator.generate(CONTEXTS[1], GREEDY)
    if len(reply.text) < 3:
        pytest.skip("the random model wrote too little to cut")
    cut = await generator.generate(
        CONTEXTS[1], GenerationOptions(do_sample=False, num_beams=1, stop=(reply.text[1:3],))
    )
    assert (
        cut.text == reply.text.split(reply.text[1:3], 1)[0].strip() and cut.finish_reason == "stop"
    )


def test_seeded_model_card_sampling_matches_hf_own_warpers(generator):
    import torch

    decoding = defaults.decoding(max_new_tokens=12)
    for context in CONTEXTS:
        prompt = torch.tensor([generator.prompt.encode(context, 100)])
        torch.manual_seed(3)
        hf = generator._model.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            eos_token_id=list(generator.prompt.stop_ids),
            pad_token_id=generator._pad_id(),
            **decoding.generate_kwargs(),
        )
        torch.manual_seed(3)
        ours = generator._model.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            eos_token_id=list(generator.prompt.stop_ids),
            pad_token_id=generator._pad_id(),
            **generator._kwargs(decoding),
        )
        assert torch.equal(hf, ours)
