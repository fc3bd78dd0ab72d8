"""ReplyGenerator decorator: gathers concurrent requests into one `generate_batch` call on the inner
generator."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

from tinktalker.domain.dialogue import GenerationOptions, Message, Reply, ReplyPiece, StreamEvent
from tinktalker.domain.errors import GeneratorBusy, ReplyUnavailable
from tinktalker.ports.reply_generator import ReplyGenerator

log = logging.getLogger(__name__)


@dataclass(eq=False)  # a job is itself: queue membership goes by identity
class _Job:
    context: Sequence[Message]
    options: GenerationOptions
    key: object
    future: asyncio.Future
    row: int = 0  # its place in its caller's request
    pieces: asyncio.Queue[ReplyPiece] | None = None  # where its pieces go when it is streamed
    queued_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class BatchingStats:
    """Cumulative figures for metrics: batches run, replies made, how often each batch size
    occurred."""

    batches: int
    replies: int
    queue_depth: int
    batch_sizes: dict[int, int]


class BatchingReplyGenerator(ReplyGenerator):
    """Implements ports.ReplyGenerator over another one, answering concurrent requests in batches.

    Requests with identical options share a batch of at most `max_batch_size`; the first waits at
    most `max_wait_s` for company (none when enough are already queued, e.g. while the previous
    batch ran). Right after a batch, the clients it answered are likely to ask again within
    milliseconds (a chat, a closed-loop client): for up to `refill_wait_s` after the model frees,
    the next batch keeps waiting while fewer requests are back than were in play (just answered +
    already waiting), so closed-loop clients settle into full batches instead of a lone early
    request running by itself while the rest queue behind it. A lone client waits no longer than
    `max_wait_s`, as without the window. Streamed requests (`stream_batch`) join the same batches;
    the inner generator streams a batch that holds one. Seeded requests run alone, so a seed gives
    the same reply under any load. At most `max_queue` requests wait; more raise `GeneratorBusy`. A
    cancelled request leaves the queue at once.
    Up to `max_in_flight` batches run at once (an inner generator with several workers), so a
    request that arrives while a batch runs starts on the next free worker, not after it ended.
    """

    def __init__(
        self,
        inner: ReplyGenerator,
        max_batch_size: int = 8,
        max_wait_s: float = 0.005,
        max_queue: int = 64,
        refill_wait_s: float = 0.05,
        max_in_flight: int = 1,
    ) -> None:
        self._inner = inner
        self._max_in_flight = max(1, max_in_flight)
        self._flights: set[asyncio.Task] = set()
        self._max_batch = max(1, max_batch_size)
        self._max_wait = max(0.0, max_wait_s)
        self._refill_wait = max(0.0, refill_wait_s)
        self._freed_at = -math.inf  # when the last batch ended
        self._in_play = 0  # requests answered by it + those waiting then: who may be back soon
        self._max_queue = max(1, max_queue)
        self._queue: deque[_Job] = deque()
        self._arrived = asyncio.Event()
        self._worker: asyncio.Task | None = None
        self._batch_seconds = 0.0  # moving average, for Retry-After
        self._sizes: Counter[int] = Counter()
        self._running: list[list[_Job]] = []  # the batches in flight
        # id(batch) -> its streamed run, cancelled when every caller of that batch has left
        self._streaming: dict[int, asyncio.Future[list[Reply]]] = {}

    @property
    def inner(self) -> ReplyGenerator:
        """The generator it batches for."""
        return self._inner

    @property
    def max_in_flight(self) -> int:
        """Batches it runs at once."""
        return self._max_in_flight

    @property
    def stats(self) -> BatchingStats:
        return BatchingStats(
            sum(self._sizes.values()),
            sum(s * n for s, n in self._sizes.items()),
            len(self._queue),
            dict(self._sizes),
        )

    async def generate(
        self, context: Sequence[Message], options: GenerationOptions | None = None
    ) -> Reply:
        return (await self.generate_batch([context], options))[0]

    async def generate_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> list[Reply]:
        if not contexts:
            return []
        jobs = self._enqueue(contexts, options, None)
        try:
            return list(await asyncio.gather(*(job.future for job in jobs)))
        finally:
            self._give_up(jobs)

    async def stream_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Streamed requests share batches with the rest; their pieces come as the batch writes."""
        if not contexts:
            yield []
            return
        pieces: asyncio.Queue[ReplyPiece | None] = asyncio.Queue()
        jobs = self._enqueue(contexts, options, pieces)
        replies = asyncio.ensure_future(asyncio.gather(*(job.future for job in jobs)))
        replies.add_done_callback(lambda _: pieces.put_nowait(None))
        try:
            while (piece := await pieces.get()) is not None:
                yield piece
            yield list(replies.result())
        finally:
            replies.cancel()
            self._give_up(jobs)

    def _enqueue(
        self,
        contexts: Sequence[Sequence[Message]],
        options: GenerationOptions | None,
        pieces: asyncio.Queue | None,
    ) -> list[_Job]:
        if len(self._queue) + len(contexts) > self._max_queue:
            raise GeneratorBusy(
                f"{len(self._queue)} replies are already waiting", self._retry_after()
            )
        options = options or GenerationOptions()
        key = object() if options.seed is not None else options
        loop = asyncio.get_running_loop()
        jobs = [
            _Job(c, options, key, loop.create_future(), row, pieces)
            for row, c in enumerate(contexts)
        ]
        self._queue.extend(jobs)
        self._arrived.set()
        self._ensure_worker()
        return jobs

    def _give_up(self, jobs: list[_Job]) -> None:
        """Cancelled or failed: whatever has not started yet gives its place back."""
        for job in jobs:
            if not job.future.done():
                job.future.cancel()
            if job in self._queue:
                self._queue.remove(job)
        for batch in self._running:
            streaming = self._streaming.get(id(batch))
            if streaming is not None and all(job.future.done() for job in batch):
                streaming.cancel()  # a streamed batch nobody waits for: the model stops

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(
                self._work(), name="batching-worker"
            )

    async def _work(self) -> None:
        while True:
            while not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
            if len(self._flights) >= self._max_in_flight:
                await asyncio.wait(self._flights, return_when=asyncio.FIRST_COMPLETED)
                continue  # the queue may have emptied meanwhile
            batch = await self._gather_batch()
            if batch:
                flight = asyncio.get_running_loop().create_task(self._run(batch))
                self._flights.add(flight)
                flight.add_done_callback(self._flights.discard)
                if self._max_in_flight == 1:
                    await asyncio.wait({flight})  # the next batch gathers after this one ended

    async def _gather_batch(self) -> list[_Job]:
        first = self._queue[0]
        refill_until, wanted = self._refill_window(first)
        while self._count(first.key) < self._max_batch and first in self._queue:
            wait_until = first.queued_at + self._max_wait
            if self._count(first.key) < wanted:  # those just answered are not all back yet
                wait_until = max(wait_until, refill_until)
            remaining = wait_until - time.monotonic()
            if remaining <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                break
        batch = [job for job in self._queue if job.key is first.key or job.key == first.key][
            : self._max_batch
        ]
        for job in batch:
            self._queue.remove(job)
        return [job for job in batch if not job.future.done()]

    def _refill_window(self, first: _Job) -> tuple[float, int]:
        """(until when, for how many) the batch that `first` opens waits for the clients just
        answered."""
        refill_until = self._freed_at + self._refill_wait
        if time.monotonic() < refill_until and first.options.seed is None:
            return refill_until, min(self._max_batch, self._in_play)
        return -math.inf, 0

    def _count(self, key: object) -> int:
        return sum(1 for job in self._queue if job.key is key or job.key == key)

    async def _run(self, batch: list[_Job]) -> None:
        started = time.monotonic()
        self._running.append(batch)
        try:
            replies = await self._replies(batch)
        except Exception as error:  # the callers decide what a failure means; the worker goes on
            if not isinstance(error, ReplyUnavailable):
                log.exception("batch of %d failed", len(batch))
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(error)
            return
        finally:
            self._running.remove(batch)
            self._sizes[len(batch)] += 1
            self._batch_seconds = 0.8 * self._batch_seconds + 0.2 * (time.monotonic() - started)
            self._freed_at, self._in_play = time.monotonic(), len(batch) + len(self._queue)
        for job, reply in zip(batch, replies, strict=False):
            if not job.future.done():
                job.future.set_result(reply)

    async def _replies(self, batch: list[_Job]) -> list[Reply]:
        if all(job.pieces is None for job in batch):
            return await self._inner.generate_batch(
                [job.context for job in batch], batch[0].options
            )
        # its own task, so that the last caller leaving can stop it (and the model) at once
        streaming = asyncio.ensure_future(self._streamed(batch))
        self._streaming[id(batch)] = streaming
        try:
            await asyncio.wait({streaming})
        finally:
            streaming.cancel()
            self._streaming.pop(id(batch), None)
        return [] if streaming.cancelled() else streaming.result()  # [] when every caller left

    async def _streamed(self, batch: list[_Job]) -> list[Reply]:
        contexts, options = [job.context for job in batch], batch[0].options
        async with aclosing(self._inner.stream_batch(contexts, options)) as events:
            async for event in events:
                if isinstance(event, list):
                    return event
                job = batch[event.index]
                if job.pieces is not None and not job.future.done():
                    job.pieces.put_nowait(ReplyPiece(job.row, event.text))
        raise ReplyUnavailable("the generator's stream ended without its replies")

    def _retry_after(self) -> float:
        batches_ahead = math.ceil(len(self._queue) / self._max_batch / self._max_in_flight)
        return max(1.0, math.ceil(batches_ahead * self._batch_seconds))

    async def aclose(self) -> None:
        running = [job for batch in self._running for job in batch]  # forgotten when cancelled
        tasks = [*self._flights, *([self._worker] if self._worker is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for job in [*running, *self._queue]:
            if not job.future.done():
                job.future.set_exception(ReplyUnavailable("the generator is shutting down"))
        self._queue.clear()


async def open_batching_reply_generator(
    inner: ReplyGenerator,
    max_batch_size: int = 8,
    max_wait_s: float = 0.005,
    max_queue: int = 64,
    refill_wait_s: float = 0.05,
    max_in_flight: int = 1,
) -> AsyncIterator[BatchingReplyGenerator]:
    """Resource: yields the decorator; on shutdown stops its worker and fails what still waits."""
    generator = BatchingReplyGenerator(
        inner, max_batch_size, max_wait_s, max_queue, refill_wait_s, max_in_flight
    )
    try:
        yield generator
    finally:
        await generator.aclose()
