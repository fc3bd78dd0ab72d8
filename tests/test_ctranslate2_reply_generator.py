"""The CTranslate2 engine against the torch engine, on a tiny random GPT-2 and on one `tinktalker
train` trained."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest

from devkit import schema_defaults as defaults
from devkit.dialogue_csv import PAIRS, write_dialogue_csv
from devkit.tiny_model import FIRST_MARKER, SECOND_MARKER
from tests.conftest import built_once
from tests.test_torch_reply_generator import CONTEXTS
from tinktalker.adapters.model.ctranslate2_reply_generator import open_ctranslate2_reply_generator
from tinktalker.adapters.model.loading import load_model_and_tokenizer
from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt
from tinktalker.adapters.model.torch_reply_generator import open_torch_reply_generator
from tinktalker.domain.dialogue import GenerationOptions, Message, Speaker
from tinktalker.training.run import run_training

U = Speaker.USER
GREEDY = GenerationOptions(do_sample=False, num_beams=1)
BEAMS = GenerationOptions(do_sample=False, num_beams=3)
# Without the penalties the engines compute the same thing; with them they differ by design
# (README).
NO_PENALTIES = {"repetition_penalty": 1.0, "no_repeat_ngram_size": 0}

# Trains a model, converts it, serves it; each test in a child process, so a native crash
# (CTranslate2 aborting) fails that test, by name.
pytestmark = [pytest.mark.slow, pytest.mark.forked]


@pytest.fixture(scope="module")
def trained_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A head-only run of the real training pipeline: an untied lm_head (tie_word_embeddings
    false)."""
    return built_once(tmp_path_factory, "ct2-trained", partial(_trained, tiny_model_dir))


def _trained(tiny_model_dir: Path, scratch: Path) -> Path:
    plan = defaults.training_plan(
        write_dialogue_csv(scratch / "chat.csv", rows=120),
        tiny_model_dir,
        scratch / "out",
        epochs=3,
        pad_to_messages=1,  # the prompt shape these engine comparisons serve
        batch_size=8,
        learning_rate=1e-2,
        validation_fraction=0.1,
        checkpoint_every=0,
        device="cpu",
    )
    return run_training(
        plan, load_model_and_tokenizer, RuDialoGptPrompt.for_markers, progress_bars=False
    ).output


def replies(
    engine: str,
    model: Path,
    contexts,
    options: GenerationOptions,
    cache: Path,
    one_by_one: bool = True,
    quantization: str = "float32",
    **decoding,
):
    decoding = defaults.decoding_values(**{"max_new_tokens": 12, **decoding})
    markers = defaults.markers()
    if engine == "torch":
        resource = open_torch_reply_generator(
            str(model),
            device="cpu",
            dtype="float32",
            decoding=decoding,
            markers=markers,
            pad_to_messages=1,
        )
    else:
        resource = open_ctranslate2_reply_generator(
            str(model),
            device="cpu",
            quantization=quantization,
            cache_dir=str(cache),
            decoding=decoding,
            markers=markers,
            pad_to_messages=1,
        )
    generator = next(resource)
    try:
        if one_by_one:
            return [asyncio.run(generator.generate(c, options)) for c in contexts]
        return asyncio.run(generator.generate_batch(contexts, options))
    finally:
        resource.close()


QUESTIONS = [[Message(U, question)] for question, _ in PAIRS]


@pytest.mark.parametrize("model", ["random", "trained"])
def test_fp32_greedy_replies_are_identical_token_for_token(
    model, tiny_model_dir, trained_dir, tmp_path
):
    folder, contexts = (tiny_model_dir, CONTEXTS) if model == "random" else (trained_dir, QUESTIONS)
    forced = (
        {"min_new_tokens": 12} if model == "random" else {}
    )  # the random model would stop at once
    torch_replies = replies("torch", folder, contexts, GREEDY, tmp_path, **NO_PENALTIES, **forced)
    ct2_replies = replies(
        "ctranslate2", folder, contexts, GREEDY, tmp_path, **NO_PENALTIES, **forced
    )
    assert ct2_replies == torch_replies
    assert all(r.completion_tokens > 0 for r in torch_replies)


def test_beam_search_without_sampling_keeps_the_same_top_beam(tiny_model_dir, tmp_path):
    # min_new_tokens = max_new_tokens: the engines end beams differently (HF keeps searching after a
    # beam ends and compares length-normalised scores; CTranslate2 stops when its best beam ends),
    # so no beam may end
    forced = {"min_new_tokens": 12, **NO_PENALTIES}
    torch_replies = replies("torch", tiny_model_dir, CONTEXTS, BEAMS, tmp_path, **forced)
    assert (
        replies("ctranslate2", tiny_model_dir, CONTEXTS, BEAMS, tmp_path, **forced) == torch_replies
    )


def test_int8_agrees_with_fp32_on_the_trained_model(trained_dir, tmp_path):
    # The bound: every greedy reply of int8 equals fp32's (the trained distributions are peaked, so
    # int8's rounding of the matrices never flips the top token on these held-out-by-form questions)
    fp32 = replies("ctranslate2", trained_dir, QUESTIONS, GREEDY, tmp_path)
    int8 = replies("ctranslate2", trained_dir, QUESTIONS, GREEDY, tmp_path, quantization="int8")
    assert int8 == fp32


def test_model_card_sampling_runs_batched_and_respects_the_reply_rules(tiny_model_dir, tmp_path):
    got = replies(
        "ctranslate2",
        tiny_model_dir,
        CONTEXTS * 2,
        GenerationOptions(max_new_tokens=6),
        tmp_path,
        one_by_one=False,
        quantization="int8",
    )
    assert len(got) == 8
    for reply in got:
        # a marker never reaches a reply ('@' bytes may: the random model can spell "@@" from them)
        assert reply.completion_tokens <= 6 and reply.prompt_tokens > 0
        assert FIRST_MARKER not in reply.text and SECOND_MARKER not in reply.text
        assert reply.finish_reason in ("stop", "length")


def test_a_caller_stop_string_cuts_the_reply_like_torch(trained_dir, tmp_path):
    options = GenerationOptions(do_sample=False, num_beams=1, stop=("облиг",))
    got = replies("ctranslate2", trained_dir, QUESTIONS[1:2], options, tmp_path)
    assert got == replies("torch", trained_dir, QUESTIONS[1:2], options, tmp_path)
    assert got[0].text == "купил" and got[0].finish_reason == "stop"


def test_serve_answers_openai_chat_with_the_ctranslate2_engine(trained_dir, tmp_path):
    import openai

    from devkit.loopback_server import serve_process

    env = {
        "TINKTALKER__MODEL__ENGINE": "ctranslate2",
        "TINKTALKER__STORE__BACKEND": "memory",
        "TINKTALKER__MODEL__CACHE_DIR": str(tmp_path / "cache"),
        "TINKTALKER__PROMPT__PAD_TO_MESSAGES": "1",
        "TINKTALKER__LOGGING__LEVEL": "INFO",
    }
    with serve_process(trained_dir, env) as (url, process):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        chat = client.chat.completions.create(
            model="tinktalker",
            messages=[{"role": "user", "content": "акции растут"}],
            temperature=0,
            max_tokens=8,
            n=2,
        )
        sampled = client.chat.completions.create(
            model="tinktalker", messages=[{"role": "user", "content": "да"}]
        )
    assert [c.message.content for c in chat.choices] == ["купил облигации"] * 2
    assert chat.usage.completion_tokens > 0 and sampled.choices[0].finish_reason in (
        "stop",
        "length",
    )
    assert "with CTranslate2 on cpu as int8" in process.stderr.read()


@pytest.mark.parametrize("engine", ["torch", "ctranslate2"])
def test_a_top_p_that_rounds_to_zero_keeps_the_likeliest_token(engine, trained_dir, tmp_path):
    # schemathesis sent top_p=5e-324: float32 makes it 0, which CTranslate2 refused with a
    # ValueError (a 500)
    options = GenerationOptions(do_sample=True, num_beams=1, top_p=5e-324, temperature=1.0)
    sampled = replies(engine, trained_dir, QUESTIONS[:2], options, tmp_path, **NO_PENALTIES)
    greedy = replies(engine, trained_dir, QUESTIONS[:2], GREEDY, tmp_path, **NO_PENALTIES)
    assert [r.text for r in sampled] == [r.text for r in greedy]


@pytest.mark.parametrize("parallel_batches", [1, 2])
def test_streamed_rows_of_a_batch_split_between_workers_reach_their_own_rows(
    trained_dir, tmp_path, parallel_batches
):
    from tinktalker.domain.dialogue import ReplyPiece

    pieces: dict[int, list[str]] = {row: [] for row in range(4)}
    contexts = [QUESTIONS[row % len(QUESTIONS)] for row in range(4)]

    async def streamed(generator) -> list:
        async for event in generator.stream_batch(contexts, GREEDY):
            if isinstance(event, ReplyPiece):
                pieces[event.index].append(event.text)
            else:
                return event
        raise AssertionError("the stream ended without its replies")

    resource = open_ctranslate2_reply_generator(
        str(trained_dir),
        device="cpu",
        quantization="float32",
        cache_dir=str(tmp_path),
        threads=2,
        parallel_batches=parallel_batches,
        decoding=defaults.decoding_values(max_new_tokens=12, **NO_PENALTIES),
        markers=defaults.markers(),
        pad_to_messages=1,
    )
    generator = next(resource)
    try:
        got = asyncio.run(streamed(generator))
    finally:
        resource.close()
    assert any(reply.text for reply in got) and any(pieces.values())
    for row, reply in enumerate(got):
        assert reply.text.startswith("".join(pieces[row])), (row, pieces[row], reply.text)
        assert "".join(pieces[row]) == reply.text  # a greedy reply that ended is sent whole


def test_two_workers_run_two_batches_at_once_and_each_gets_its_own_replies(trained_dir, tmp_path):
    from tinktalker.adapters.batching_reply_generator import BatchingReplyGenerator

    resource = open_ctranslate2_reply_generator(
        str(trained_dir),
        device="cpu",
        quantization="float32",
        cache_dir=str(tmp_path),
        threads=2,
        parallel_batches=2,
        decoding=defaults.decoding_values(max_new_tokens=12, **NO_PENALTIES),
        markers=defaults.markers(),
        pad_to_messages=1,
    )
    generator = next(resource)

    async def at_once():
        alone = [await generator.generate(q, GREEDY) for q in QUESTIONS[:4]]
        batching = BatchingReplyGenerator(
            generator, max_batch_size=2, max_wait_s=0, max_in_flight=generator.batches_in_flight
        )
        together = await asyncio.gather(*(batching.generate(q, GREEDY) for q in QUESTIONS[:4]))
        await batching.aclose()
        return alone, together, batching.max_in_flight

    try:
        alone, together, in_flight = asyncio.run(at_once())
    finally:
        resource.close()
    assert generator.batches_in_flight == 2 and in_flight == 2
    assert [r.text for r in together] == [r.text for r in alone]
