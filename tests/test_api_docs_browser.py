"""The docs page in a real headless Chromium: "Try it out" on every operation sends what the page
builds and gets the documented answer; each error example shown is the answer to its case."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.api_app_under_test import api_server
from tests.fake_reply_generator import EchoReplyGenerator
from tests.headless_browser import evaluate, find_browser, headless_page
from tinktalker.domain.errors import ReplyUnavailable

BROWSER = find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no Chromium or Chrome on PATH: apt-get install -y chromium (.ci/run installs it)",
)
TIMEOUT_S = 2.0  # server.request_timeout_s: a slow generator meets it (504); a loaded CI is slower
GENERATING = ["/answer", "/v1/chat/completions", "/v1/completions"]

# Expands each operation, presses "Try it out" and "Execute", and reads what the page sent, the
# status it got and the example shown for each documented answer. Every wait is bounded.
TRY_EVERYTHING = r"""
(async () => {
  const sleep = ms => new Promise(done => setTimeout(done, ms));
  const until = async (found, what) => {
    for (let i = 0; i < 400; i++) { const it = found(); if (it) return it; await sleep(50); }
    throw new Error('the page never showed ' + what);
  };
  await until(() => document.querySelectorAll('.opblock').length, 'its operations');
  const seen = [];
  for (const op of document.querySelectorAll('.opblock')) {
    const path = op.querySelector('.opblock-summary-path').getAttribute('data-path');
    const method = op.querySelector('.opblock-summary-method').textContent;
    op.querySelector('button.opblock-summary-control').click();
    (await until(() => op.querySelector('.try-out__btn'), 'Try it out of ' + path)).click();
    const box = method === 'POST'
      ? await until(() => op.querySelector('textarea.body-param__text'), 'the body of ' + path)
      : null;
    const examples = {};
    for (const row of op.querySelectorAll('tr.response')) {
      const shown = row.querySelector('.example, pre.microlight, .highlight-code pre');
      examples[row.getAttribute('data-code')] = shown ? shown.textContent : null;
    }
    (await until(() => op.querySelector('button.execute'), 'Execute of ' + path)).click();
    const status = await until(
      () => op.querySelector('.live-responses-table tbody .response-col_status'),
      'the answer of ' + path);
    seen.push({method, path, body: box && box.value, examples, status: status.textContent.trim()});
  }
  return seen;
})()
"""


class CountingGenerator(EchoReplyGenerator):
    """Also counts the batches it has finished, so a test can wait until it is idle."""

    finished = 0

    async def generate_batch(self, contexts, options=None):
        try:
            return await super().generate_batch(contexts, options)
        finally:
            self.finished += 1


@pytest.fixture(scope="module")
def docs():
    """The server, its generator, and what the browser saw on its docs page."""
    generator = CountingGenerator()
    batching = {"max_batch_size": 1, "max_queue": 1}
    with api_server(generator, batching=batching, request_timeout_s=TIMEOUT_S) as url:
        assert httpx.get(f"{url}/", follow_redirects=False).headers["location"] == "/schema"
        with headless_page(BROWSER, f"{url}/") as (pipe, session):  # / leads to the docs
            seen = evaluate(pipe, session, TRY_EVERYTHING)
        yield url, generator, {(s["method"], s["path"]): s for s in seen}


def test_try_it_out_succeeds_on_every_operation_the_page_lists(docs):
    _, _, seen = docs
    assert set(seen) >= {("POST", path) for path in GENERATING} | {
        ("GET", "/v1/models"),
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
    }
    for (method, path), operation in seen.items():
        assert operation["status"] == "200", (method, path, operation["body"])
        if method == "POST":
            body = json.loads(operation["body"])
            assert "seed" not in body and "logit_bias" not in body and "tools" not in body, body


def test_every_error_example_on_the_page_is_the_answer_to_its_case(docs):
    url, generator, seen = docs
    for path in GENERATING:
        sent = json.loads(seen[("POST", path)]["body"])
        examples = {int(k): v for k, v in seen[("POST", path)]["examples"].items() if k >= "400"}
        assert set(examples) >= {400, 413, 429, 503, 504}, examples
        for code in sorted(examples, key=lambda code: code in (429, 504)):  # the slow ones last
            shown = examples[code]
            answer = _case(code, url, path, sent, generator)
            assert (answer.status_code, answer.json()) == (code, json.loads(shown)), (path, code)


def test_the_success_examples_have_the_answers_shape(docs):
    url, _, seen = docs
    for (method, path), operation in seen.items():
        shown = operation["examples"]["200"]
        answer = httpx.request(method, url + path, json=json.loads(operation["body"] or "null"))
        if path == "/metrics":
            assert re.match(r"# HELP \w+", shown) and "# HELP" in answer.text
        elif isinstance(json.loads(shown), dict):
            assert set(json.loads(shown)) == set(answer.json()), path
        else:
            assert isinstance(answer.json(), type(json.loads(shown))), path


def _case(code: int, url: str, path: str, sent: dict, generator: CountingGenerator):
    """The request that earns `code` on `path`, made from the body the page sent."""
    if code == 400:
        wrong = {"context": ["1", "2", "3", "4"]} if path == "/answer" else {"max_tokens": 10**6}
        return httpx.post(url + path, json={**sent, **wrong})
    if code == 404:
        return httpx.post(url + path, json={**sent, "model": "gpt-4o"})
    if code == 413:
        return httpx.post(
            url + path, content=b" " * 70_000, headers={"content-type": "application/json"}
        )
    if code == 503:
        generator.fail_with = ReplyUnavailable("the generator is shutting down")
        try:
            return httpx.post(url + path, json=sent)
        finally:
            generator.fail_with = None
    if code in (429, 504):
        return _busy(url, path, sent, generator, code)
    raise AssertionError(f"the page shows an example for {code} that no case here earns")


def _busy(url: str, path: str, sent: dict, generator: CountingGenerator, code: int):
    """One request slower than the timeout (504), one waiting behind it, and one more (429)."""
    generator.delay_s = TIMEOUT_S * 2
    batches = len(generator.batches)
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(httpx.post, url + path, json=sent)
        _wait_until(lambda: len(generator.batches) > batches)  # the slow one is being answered
        waiting = pool.submit(httpx.post, url + path, json=sent)
        _wait_until(lambda: "tinktalker_queue_depth 1.0" in httpx.get(f"{url}/metrics").text)
        refused = httpx.post(url + path, json=sent)
        answers = {429: refused, 504: slow.result()}
        waiting.result()
    generator.delay_s = 0.0
    _wait_until(lambda: generator.finished == len(generator.batches))  # idle again
    return answers[code]


def _wait_until(condition) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.02)


@pytest.mark.parametrize(
    "field,value,fix",
    [
        ("functions", [1], "functions is not supported by this server; leave it out)"),
        (
            "logit_bias",
            {"1": 2.0},
            "logit_bias is not supported by this server; send {} or leave it out)",
        ),
    ],
)
def test_an_unsupported_field_names_its_fix_in_plain_words(docs, field, value, fix):
    url, _, seen = docs
    sent = json.loads(seen[("POST", "/v1/chat/completions")]["body"])
    answer = httpx.post(f"{url}/v1/chat/completions", json={**sent, field: value})
    message = answer.json()["error"]["message"]
    assert answer.status_code == 400 and message.endswith(f"({fix}")
