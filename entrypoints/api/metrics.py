"""Prometheus metrics of the API: requests, latency, batch sizes, queue depth, tokens."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class BatchingFigures(Protocol):
    """What the batching generator's `stats` tell (BatchingStats)."""

    batches: int
    replies: int
    queue_depth: int
    batch_sizes: dict[int, int]


class ApiMetrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(
        self, known_paths: set[str], batching_stats: Callable[[], BatchingFigures | None]
    ) -> None:
        self.registry = CollectorRegistry()
        self._known = known_paths
        self.requests = Counter(
            "tinktalker_requests",
            "HTTP requests answered",
            ["path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tinktalker_request_seconds",
            "time to answer a request",
            ["path"],
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
        )
        self.tokens = Counter(
            "tinktalker_tokens", "tokens processed", ["kind"], registry=self.registry
        )
        self.registry.register(_BatchingCollector(batching_stats))

    def count_tokens(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.tokens.labels("prompt").inc(prompt_tokens)
        self.tokens.labels("generated").inc(completion_tokens)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            path = (
                scope["path"] if scope["path"] in self._known else "other"
            )  # unknown paths stay one label
            started, status = time.monotonic(), [500]

            async def send_noting_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_noting_status)
            finally:
                self.requests.labels(path, str(status[0])).inc()
                self.latency.labels(path).observe(time.monotonic() - started)

        return measured


class _BatchingCollector:
    """Reads the batching generator's cumulative figures at scrape time."""

    def __init__(self, stats: Callable[[], BatchingFigures | None]) -> None:
        self._stats = stats

    def collect(self):
        stats = self._stats()
        if stats is None:
            return
        depth = GaugeMetricFamily("tinktalker_queue_depth", "requests waiting for the model")
        depth.add_metric([], stats.queue_depth)
        yield depth
        sizes = HistogramMetricFamily("tinktalker_batch_size", "requests answered per model call")
        cumulative = [
            (str(b), sum(n for s, n in stats.batch_sizes.items() if s <= b)) for b in _BATCH_BUCKETS
        ]
        sizes.add_metric([], [*cumulative, ("+Inf", stats.batches)], sum_value=stats.replies)
        yield sizes
