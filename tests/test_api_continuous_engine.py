"""`tinktalker serve` with model.engine continuous, as a real process on the tiny model: the openai
client's concurrent and streamed chats, what the start says, and the starts it refuses."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from devkit.loopback_server import free_port, serve_process

ROOT = Path(__file__).resolve().parents[1]
CONTINUOUS = {
    "TINKTALKER__MODEL__ENGINE": "continuous",
    "TINKTALKER__MODEL__DEVICE": "cpu",
    "TINKTALKER__MODEL__DTYPE": "float32",  # batched and alone the same sums: the same greedy reply
    "TINKTALKER__STORE__BACKEND": "memory",
}
QUESTIONS = ["привет", "акции растут?", "да", "купил облигации", "что с рынком", "нет", "ок", "?"]
MAX_TOKENS = 6


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    # 4 sequences for 8 requests: half of them wait for rows; one beam, so replies stream
    env = {
        **CONTINUOUS,
        "TINKTALKER__CONTINUOUS__MAX_SEQUENCES": "4",
        "TINKTALKER__GENERATION__NUM_BEAMS": "1",
    }
    with serve_process(tiny_model_dir, env) as (url, _):
        yield url


def chat(question: str, **extra) -> dict:
    # min_tokens: the random model's likeliest first token often ends a greedy reply at once
    return {
        "model": "tinktalker",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
        "extra_body": {"min_tokens": 3},
        **extra,
    }


def test_eight_concurrent_chats_are_all_answered_as_if_alone(server):
    async def ask_all() -> list:
        client = openai.AsyncOpenAI(base_url=f"{server}/v1", api_key="none", max_retries=0)
        try:
            return await asyncio.gather(
                *(client.chat.completions.create(**chat(q)) for q in QUESTIONS)
            )
        finally:
            await client.close()

    together = asyncio.run(ask_all())
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="none", max_retries=0)
    alone = [client.chat.completions.create(**chat(q)) for q in QUESTIONS]
    assert len(together) == len(QUESTIONS)
    for reply in together:
        assert 3 <= reply.usage.completion_tokens <= MAX_TOKENS and reply.usage.prompt_tokens > 0
        assert reply.choices[0].finish_reason in ("stop", "length")
    assert [r.choices[0].message.content for r in together] == [
        r.choices[0].message.content for r in alone
    ]


def test_a_streamed_greedy_chat_adds_up_to_the_whole_reply(server):
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="none", max_retries=0)
    whole = client.chat.completions.create(**chat("акции растут?", max_tokens=12))
    chunks = list(
        client.chat.completions.create(
            **chat("акции растут?", max_tokens=12),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert "".join(pieces) == whole.choices[0].message.content != ""
    assert len(pieces) > 1  # one beam: written piece by piece, not as one chunk at the end
    assert chunks[-2].choices[0].finish_reason == whole.choices[0].finish_reason
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_the_start_names_continuous_batching_and_the_kv_cache_and_stops_cleanly(tiny_model_dir):
    env = {
        **CONTINUOUS,
        "TINKTALKER__CONTINUOUS__MAX_SEQUENCES": "3",
        "TINKTALKER__CONTINUOUS__SEQUENCE_TOKENS": "64",
    }
    with serve_process(tiny_model_dir, env) as (url, process):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        reply = client.chat.completions.create(**chat("привет"))  # 3 beams: the shipped default
        process.terminate()
        assert process.wait(20) in (0, -15)  # the decode loop's thread ends with the server
        log = process.stderr.read()
    assert 3 <= reply.usage.completion_tokens <= MAX_TOKENS
    engine = next(line for line in log.splitlines() if line.startswith("engine:"))
    assert "continuous batching on cpu, float32" in engine, log
    assert "KV cache 3 sequences x 64 tokens" in engine, log
    assert "Traceback" not in log


def serve_refused(model: Path, env: dict[str, str]) -> str:
    """`tinktalker serve`'s stderr, asserting that it refused to start in one line (exit 2)."""
    result = subprocess.run(
        [sys.executable, "-m", "tinktalker.entrypoints.cli", "serve", "--model", str(model)]
        + ["--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **CONTINUOUS, **env},
        cwd=ROOT,
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("tinktalker: error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_more_beams_than_the_kv_cache_has_sequences_is_refused_at_start(tiny_model_dir):
    # the API cannot ask for fewer beams: every reply of such a server would be a 503
    line = serve_refused(
        tiny_model_dir,
        {"TINKTALKER__CONTINUOUS__MAX_SEQUENCES": "2", "TINKTALKER__GENERATION__NUM_BEAMS": "3"},
    )
    assert "generation.num_beams (3)" in line and "continuous.max_sequences is 2" in line
    assert "raise continuous.max_sequences or lower generation.num_beams" in line


@pytest.mark.parametrize(
    "key, value, bound",
    [("MAX_SEQUENCES", "0", "greater than or equal to 1"), ("SEQUENCE_TOKENS", "1", "equal to 2")],
)
def test_an_empty_kv_cache_is_refused_at_start_naming_the_key(tiny_model_dir, key, value, bound):
    line = serve_refused(tiny_model_dir, {f"TINKTALKER__CONTINUOUS__{key}": value})
    assert f"config key 'continuous.{key.lower()}'" in line and bound in line, line


@pytest.mark.forked  # the engine runs in this test's own process, not pytest's
def test_the_container_keeps_as_many_batches_in_flight_as_the_kv_cache_has_sequences(
    tiny_model_dir,
):
    from tinktalker.adapters.model.continuous.continuous_reply_generator import (
        ContinuousReplyGenerator,
    )
    from tinktalker.domain.dialogue import Message, Speaker
    from tinktalker.entrypoints.container import make_container
    from tinktalker.entrypoints.settings import Settings

    settings = Settings.model_validate(
        {
            "model": {"name_or_path": str(tiny_model_dir), "device": "cpu", "engine": "continuous"},
            "continuous": {"max_sequences": 5, "sequence_tokens": 64},
            "generation": {"max_new_tokens": 4},
            "store": {"backend": "memory"},
        }
    )

    async def opened() -> tuple[object, int, int]:
        container = make_container(settings)
        try:
            batching = await container.batching_reply_generator()
            reply = await batching.generate([Message(Speaker.USER, "привет")])
            return batching.inner, batching.max_in_flight, reply.completion_tokens
        finally:
            await container.shutdown_resources()

    inner, in_flight, tokens = asyncio.run(opened())
    assert isinstance(inner, ContinuousReplyGenerator) and in_flight == 5 and tokens <= 4
