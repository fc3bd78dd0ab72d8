import asyncio

import pytest

from devkit import schema_defaults as defaults
from tests.fake_reply_generator import EchoReplyGenerator, unavailable
from tinktalker.adapters.batching_reply_generator import BatchingReplyGenerator
from tinktalker.domain.dialogue import GenerationOptions, Message, Speaker
from tinktalker.domain.errors import GeneratorBusy, ReplyUnavailable


def said(text: str) -> list[Message]:
    return [Message(Speaker.USER, text)]


def test_concurrent_requests_share_one_batch_and_each_gets_its_own_reply():
    async def scenario():
        inner = EchoReplyGenerator()
        batching = BatchingReplyGenerator(inner, max_batch_size=8, max_wait_s=0.05)
        replies = await asyncio.gather(*(batching.generate(said(f"m{i}")) for i in range(5)))
        await batching.aclose()
        return inner, replies, batching.stats

    inner, replies, stats = asyncio.run(scenario())
    assert [r.text for r in replies] == [f"echo: m{i}" for i in range(5)]
    assert len(inner.batches) == 1 and inner.batches[0][0] == [f"m{i}" for i in range(5)]
    assert stats.batch_sizes == {5: 1} and stats.replies == 5


def test_batches_never_exceed_the_maximum_and_group_by_options():
    async def scenario():
        inner = EchoReplyGenerator(delay_s=0.01)
        batching = BatchingReplyGenerator(inner, max_batch_size=3, max_wait_s=0.02)
        hot, cold = GenerationOptions(temperature=1.5), GenerationOptions(temperature=0.5)
        await asyncio.gather(
            *(batching.generate(said(f"h{i}"), hot) for i in range(4)),
            *(batching.generate(said(f"c{i}"), cold) for i in range(2)),
        )
        await batching.aclose()
        return inner

    inner = asyncio.run(scenario())
    assert max(len(texts) for texts, _ in inner.batches) == 3
    for texts, options in inner.batches:  # a batch never mixes options
        assert {t[0] for t in texts} == ({"h"} if options.temperature == 1.5 else {"c"})
    assert sorted(t for texts, _ in inner.batches for t in texts) == [
        "c0",
        "c1",
        "h0",
        "h1",
        "h2",
        "h3",
    ]


def test_seeded_requests_run_alone_so_a_seed_means_the_same_reply_under_load():
    async def scenario():
        inner = EchoReplyGenerator()
        batching = BatchingReplyGenerator(inner, max_batch_size=8, max_wait_s=0.02)
        await asyncio.gather(
            *(batching.generate(said(f"s{i}"), GenerationOptions(seed=7)) for i in range(3))
        )
        await batching.aclose()
        return inner

    assert [len(texts) for texts, _ in asyncio.run(scenario()).batches] == [1, 1, 1]


def test_a_full_queue_refuses_with_a_retry_hint_and_the_accepted_still_complete():
    async def scenario():
        batching = BatchingReplyGenerator(
            EchoReplyGenerator(delay_s=0.05), max_batch_size=1, max_wait_s=0, max_queue=2
        )
        accepted = [asyncio.ensure_future(batching.generate(said("m0")))]
        await asyncio.sleep(0.01)  # the first is running
        accepted += [asyncio.ensure_future(batching.generate(said(f"m{i}"))) for i in (1, 2)]
        await asyncio.sleep(0)  # two wait: the queue is full
        with pytest.raises(GeneratorBusy) as refused:
            await batching.generate(said("one too many"))
        replies = await asyncio.gather(*accepted)
        await batching.aclose()
        return refused.value, replies

    refused, replies = asyncio.run(scenario())
    assert refused.retry_after_s >= 1
    assert [r.text for r in replies] == ["echo: m0", "echo: m1", "echo: m2"]


def test_a_cancelled_request_leaves_the_queue_and_is_never_generated():
    async def scenario():
        inner = EchoReplyGenerator(delay_s=0.05)
        batching = BatchingReplyGenerator(inner, max_batch_size=1, max_wait_s=0, max_queue=4)
        first = asyncio.ensure_future(batching.generate(said("first")))
        await asyncio.sleep(0.01)
        gone = asyncio.ensure_future(batching.generate(said("gone")))
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        depth = batching.stats.queue_depth
        await first
        await batching.generate(said("after"))
        await batching.aclose()
        return inner, depth

    inner, depth = asyncio.run(scenario())
    assert depth == 0
    assert [texts for texts, _ in inner.batches] == [["first"], ["after"]]


def test_a_failing_batch_fails_its_callers_and_the_next_batch_still_runs():
    async def scenario():
        inner = EchoReplyGenerator(fail_with=unavailable())
        batching = BatchingReplyGenerator(inner, max_wait_s=0)
        with pytest.raises(ReplyUnavailable):
            await batching.generate(said("x"))
        inner.fail_with = None
        reply = await batching.generate(said("y"))
        await batching.aclose()
        return reply

    assert asyncio.run(scenario()).text == "echo: y"


def test_closing_fails_whatever_still_waits():
    async def scenario():
        batching = BatchingReplyGenerator(
            EchoReplyGenerator(delay_s=1), max_batch_size=1, max_wait_s=0
        )
        pending = [asyncio.ensure_future(batching.generate(said(f"m{i}"))) for i in range(2)]
        await asyncio.sleep(0.01)
        await batching.aclose()
        return await asyncio.gather(*pending, return_exceptions=True)

    assert all(isinstance(result, ReplyUnavailable) for result in asyncio.run(scenario()))


def test_greedy_fp32_replies_are_the_same_batched_and_one_by_one(tiny_model_dir):
    from tinktalker.adapters.model.loading import load_model_and_tokenizer
    from tinktalker.adapters.model.torch_reply_generator import TorchReplyGenerator

    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), "cpu", "float32")
    torch_generator = TorchReplyGenerator(
        model,
        tokenizer,
        defaults.decoding(do_sample=False, num_beams=1, max_new_tokens=12),
        defaults.markers(),
        3,
    )
    contexts = [
        said("привет"),
        said("акции растут, что думаешь о рынке сегодня"),
        said("да"),
        [
            Message(Speaker.USER, "купил облигации"),
            Message(Speaker.BOT, "нефть дешевеет"),
            Message(Speaker.USER, "пока"),
        ],
    ]

    async def scenario():
        alone = [await torch_generator.generate(c) for c in contexts]
        batching = BatchingReplyGenerator(torch_generator, max_batch_size=8, max_wait_s=0.05)
        together = await asyncio.gather(*(batching.generate(c) for c in contexts))
        await batching.aclose()
        return alone, together, batching.stats

    alone, together, stats = asyncio.run(scenario())
    torch_generator.close()
    assert stats.batch_sizes == {len(contexts): 1}
    assert together == alone


async def closed_loop(
    batching: BatchingReplyGenerator, inner: EchoReplyGenerator, clients: int, rounds: int
) -> None:
    """Client 0's first batch runs alone, the rest arrive during it (the 1, 7, 1, 7 trap); each asks
    again after a think time longer than max_wait_s and shorter than a batch."""

    async def client(index: int) -> None:
        for turn in range(rounds):
            await batching.generate(said(f"c{index}-{turn}"))
            await asyncio.sleep(
                0.004 + 0.002 * index
            )  # they come back at different moments, past max_wait_s

    first = asyncio.ensure_future(client(0))
    while not inner.batches:
        await asyncio.sleep(0.001)
    await asyncio.gather(first, *(client(i) for i in range(1, clients)))


def closed_loop_batch_sizes(clients: int, refill_wait_s: float) -> list[int]:
    async def scenario():
        inner = EchoReplyGenerator(delay_s=0.1)
        batching = BatchingReplyGenerator(
            inner, max_batch_size=8, max_wait_s=0.002, refill_wait_s=refill_wait_s
        )
        await closed_loop(batching, inner, clients, rounds=6)
        await batching.aclose()
        return [len(texts) for texts, _ in inner.batches]

    return asyncio.run(scenario())


@pytest.mark.parametrize("clients", [4, 8])
def test_closed_loop_clients_settle_into_full_batches(clients):
    sizes = closed_loop_batch_sizes(clients, refill_wait_s=0.5)
    assert sizes[0] == 1 and sum(sizes) == 6 * clients  # the trap was set: client 0 ran alone
    settled = sizes[1:]
    assert sum(settled) / len(settled) >= 0.9 * clients, sizes


def test_without_the_refill_window_closed_loop_clients_alternate_between_one_and_the_rest():
    sizes = closed_loop_batch_sizes(
        8, refill_wait_s=0
    )  # the policy before refill_wait_s: what the API bench saw
    assert sizes[:6] == [1, 7, 1, 7, 1, 7], sizes


def test_a_lone_client_never_waits_for_the_refill_window():
    async def scenario():
        inner = EchoReplyGenerator(delay_s=0.01)
        batching = BatchingReplyGenerator(
            inner, max_batch_size=8, max_wait_s=0.002, refill_wait_s=30
        )
        async with asyncio.timeout(
            10
        ):  # waiting out a 30 s refill window even once would blow this
            for turn in range(5):
                await batching.generate(said(f"m{turn}"))
                await asyncio.sleep(0.002)
        await batching.aclose()
        return [len(texts) for texts, _ in inner.batches]

    assert asyncio.run(scenario()) == [1] * 5


def test_the_refill_window_is_only_right_after_a_batch():
    async def scenario():
        inner = EchoReplyGenerator(delay_s=0.01)
        batching = BatchingReplyGenerator(
            inner, max_batch_size=8, max_wait_s=0.002, refill_wait_s=0.05
        )
        await asyncio.gather(*(batching.generate(said(f"a{i}")) for i in range(3)))
        await asyncio.sleep(
            0.1
        )  # the model has been idle longer than the window: a newcomer waits max_wait_s only
        async with asyncio.timeout(5):
            await batching.generate(said("late"))
        await batching.aclose()
        return [len(texts) for texts, _ in inner.batches]

    assert asyncio.run(scenario()) == [3, 1]


async def _streamed(stream) -> tuple[list[tuple[int, str]], list]:
    pieces = []
    async for event in stream:
        if isinstance(event, list):
            return pieces, event
        pieces.append((event.index, event.text))
    raise AssertionError("the stream ended without its replies")


def test_streamed_requests_share_batches_and_each_gets_its_own_pieces():
    from tests.fakes import FakeReplyGenerator

    async def scenario():
        inner = FakeReplyGenerator(lambda c: f"to {c[-1].text}", piece_chars=2)
        batching = BatchingReplyGenerator(inner, max_batch_size=8, max_wait_s=0.05)
        two = batching.stream_batch([said("a"), said("b")])
        one = batching.stream_batch([said("c")])
        plain = batching.generate(said("d"))
        got = await asyncio.gather(_streamed(two), _streamed(one), plain)
        await batching.aclose()
        return inner, got, batching.stats

    inner, (two, one, plain), stats = asyncio.run(scenario())
    assert stats.batch_sizes == {4: 1}  # streamed and plain requests in one model call
    assert [m[-1].text for m in inner.contexts] == ["a", "b", "c", "d"]
    pieces, replies = two
    assert [r.text for r in replies] == ["to a", "to b"]
    for row in (0, 1):  # each row's pieces, renumbered within its own request
        assert "".join(text for i, text in pieces if i == row) == replies[row].text
    assert "".join(text for _, text in one[0]) == "to c" and {i for i, _ in one[0]} == {0}
    assert plain.text == "to d"


async def _until(condition) -> None:
    for _ in range(10_000):  # event-loop turns, not time
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never came true")


def test_a_stream_closed_early_gives_its_place_back():
    async def scenario():
        inner = EchoReplyGenerator(delay_s=0.05)
        batching = BatchingReplyGenerator(inner, max_batch_size=1, max_wait_s=0)
        first = asyncio.ensure_future(batching.generate(said("first")))
        await _until(lambda: bool(inner.batches))  # the model is busy with the first
        stream = batching.stream_batch([said("leaver")])
        waiting = asyncio.ensure_future(anext(stream))
        await _until(lambda: batching.stats.queue_depth == 1)  # the leaver waits its turn
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await stream.aclose()
        depth = batching.stats.queue_depth
        await first
        await batching.aclose()
        return inner, depth

    inner, depth = asyncio.run(scenario())
    assert depth == 0 and [texts for texts, _ in inner.batches] == [["first"]]


def test_a_streamed_batch_whose_callers_all_left_closes_the_model_stream():
    # the client hung up: the model must not go on writing its rows to max_tokens
    from tests.fakes import FakeReplyGenerator

    async def scenario():
        inner = FakeReplyGenerator(lambda c: "a long reply nobody will read", piece_chars=1)
        inner.gate = asyncio.Event()  # never set: the replies are never written
        batching = BatchingReplyGenerator(inner, max_batch_size=4, max_wait_s=0)
        stream = batching.stream_batch([said("leaver"), said("leaver too")])
        await anext(stream)
        await stream.aclose()
        await _until(lambda: inner.closed_streams == 1)
        await batching.aclose()
        return inner.closed_streams

    assert asyncio.run(scenario()) == 1


def test_a_streamed_caller_that_leaves_a_shared_batch_leaves_the_others_running():
    from tests.fakes import FakeReplyGenerator

    async def scenario():
        inner = FakeReplyGenerator(lambda c: f"to {c[-1].text}", piece_chars=1)
        batching = BatchingReplyGenerator(inner, max_batch_size=4, max_wait_s=0.05)
        leaver = batching.stream_batch([said("a")])
        stayer = batching.stream_batch([said("b")])
        first = asyncio.ensure_future(anext(leaver))
        rest = asyncio.ensure_future(_streamed(stayer))
        await first
        await leaver.aclose()
        got = await rest
        await batching.aclose()
        return got

    pieces, replies = asyncio.run(scenario())
    assert [r.text for r in replies] == ["to b"] and "".join(t for _, t in pieces) == "to b"


class GatedReplyGenerator(EchoReplyGenerator):
    """A batch holding 'slow' waits for `gate`; records the batches running at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.running = 0
        self.most_running = 0

    async def generate_batch(self, contexts, options=None):
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if any(c[-1].text == "slow" for c in contexts):
                await self.gate.wait()
            return await super().generate_batch(contexts, options)
        finally:
            self.running -= 1


async def _turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


@pytest.mark.parametrize("in_flight", [1, 2])
def test_with_two_in_flight_a_request_does_not_wait_for_the_running_batch(in_flight):
    async def scenario():
        inner = GatedReplyGenerator()
        batching = BatchingReplyGenerator(
            inner, max_batch_size=8, max_wait_s=0, refill_wait_s=0, max_in_flight=in_flight
        )
        slow = asyncio.ensure_future(batching.generate(said("slow")))
        for _ in range(1000):  # until the slow batch has started (bounded)
            if inner.running:
                break
            await asyncio.sleep(0)
        quick = asyncio.ensure_future(batching.generate(said("quick")))
        await _turns(50)
        quick_done_first = quick.done()
        inner.gate.set()
        replies = [r.text for r in await asyncio.gather(slow, quick)]
        await batching.aclose()
        return quick_done_first, replies, inner.most_running

    quick_done_first, replies, most_running = asyncio.run(scenario())
    assert replies == ["echo: slow", "echo: quick"]
    assert quick_done_first is (in_flight == 2)
    assert most_running == in_flight


def test_batches_in_flight_never_exceed_the_limit_and_all_finish():
    async def scenario():
        inner = EchoReplyGenerator(delay_s=0.01)
        batching = BatchingReplyGenerator(inner, max_batch_size=2, max_wait_s=0, max_in_flight=2)
        running, most = 0, 0
        original = inner.generate_batch

        async def counted(contexts, options=None):
            nonlocal running, most
            running += 1
            most = max(most, running)
            try:
                return await original(contexts, options)
            finally:
                running -= 1

        inner.generate_batch = counted
        replies = await asyncio.gather(*(batching.generate(said(f"m{i}")) for i in range(9)))
        await batching.aclose()
        return [r.text for r in replies], most

    texts, most = asyncio.run(scenario())
    assert texts == [f"echo: m{i}" for i in range(9)] and most == 2
