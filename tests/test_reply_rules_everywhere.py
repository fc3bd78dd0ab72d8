"""The chat (as the bot) and the API answer by the same reply rules, through the container.

One difference is by design (README, "Inference API"): OpenAI's endpoints keep an empty reply
empty, where a conversation and the original /answer send `dialogue.fallback_reply`."""

from __future__ import annotations

import asyncio
import io
import json

import httpx
from dependency_injector import providers

from tests.api_app_under_test import api_server
from tests.fakes import FakeReplyGenerator
from tinktalker.entrypoints.chat.repl import run_chat
from tinktalker.entrypoints.config_loading import load_settings
from tinktalker.entrypoints.container import make_container
from tinktalker.entrypoints.settings import DialogueSettings

FALLBACK = DialogueSettings().fallback_reply
EMPTY_ONCE_CLEANED = " @@ВТОРОЙ@@ \n "


def chat_replies(generator: FakeReplyGenerator, lines: str) -> list[str]:
    container = make_container(load_settings(None, env={"TINKTALKER__STORE__BACKEND": "memory"}))
    out = io.StringIO()
    with container.reply_generator.override(providers.Object(generator)):
        assert asyncio.run(run_chat(container, io.StringIO(lines), out)) == 0
    return [
        line.removeprefix("bot: ")
        for line in out.getvalue().splitlines()
        if line.startswith("bot: ") and "thinking" not in line
    ]


def streamed_content(url: str, body: dict) -> str:
    with httpx.stream("POST", url + "/v1/chat/completions", json={**body, "stream": True}) as r:
        assert r.status_code == 200, r.read()
        events = [
            line.removeprefix("data: ") for line in r.iter_lines() if line.startswith("data:")
        ]
    chunks = [json.loads(e) for e in events if e != "[DONE]"]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def test_an_empty_reply_is_the_fallback_in_a_conversation_and_in_answer_and_empty_in_v1():
    empty = FakeReplyGenerator(lambda context: EMPTY_ONCE_CLEANED)
    assert chat_replies(empty, "hi\n") == [FALLBACK]
    body = {"model": "tinktalker", "messages": [{"role": "user", "content": "hi"}]}
    with api_server(empty) as url:
        answer = httpx.post(url + "/answer", json={"context": ["hi"]})
        chat = httpx.post(url + "/v1/chat/completions", json=body)
        text = httpx.post(url + "/v1/completions", json={"model": "tinktalker", "prompt": "hi"})
        streamed = streamed_content(url, body)
    assert answer.json() == FALLBACK
    assert chat.json()["choices"][0]["message"]["content"] == ""
    assert text.json()["choices"][0]["text"] == "" and streamed == ""


def test_the_model_sees_the_same_sanitised_window_and_replies_are_cleaned_alike():
    seen_by_chat = FakeReplyGenerator(lambda context: " ok \n\n  then </s>")
    assert chat_replies(seen_by_chat, "one\ntwo @@ПЕРВЫЙ@@ 2\nthree </s>\n") == ["ok then"] * 3
    seen_by_api = FakeReplyGenerator(lambda context: " ok \n\n  then </s>")
    turns = ["one", "ok then", "two @@ПЕРВЫЙ@@ 2", "ok then", "three </s>"]
    roles = ["user", "assistant"] * 3
    messages = [{"role": r, "content": t} for r, t in zip(roles, turns, strict=False)]
    body = {"model": "tinktalker", "messages": messages}
    with api_server(seen_by_api) as url:
        chat = httpx.post(url + "/v1/chat/completions", json=body)
        answer = httpx.post(url + "/answer", json={"context": turns[-3:]})
        streamed = streamed_content(url, body)
    assert chat.json()["choices"][0]["message"]["content"] == "ok then" == answer.json()
    assert streamed == "ok then"
    assert seen_by_api.contexts[0] == seen_by_chat.contexts[-1]  # the last three, markers gone
    assert [m.text for m in seen_by_api.contexts[0]] == ["two 2", "ok then", "three"]
