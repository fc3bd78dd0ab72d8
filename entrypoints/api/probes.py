"""The probes and the metrics scrape: what a load balancer and Prometheus ask."""

# No `from __future__ import annotations`: Litestar reads the handlers' real annotations.
from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec

from tinktalker.entrypoints.api.metrics import ApiMetrics
from tinktalker.entrypoints.api.schemas import Status
from tinktalker.entrypoints.api.serving import Serving


@get("/health", tags=["probes"], summary="Alive")
async def health() -> Status:
    """200 while the process serves HTTP (the model may still be loading)."""
    return Status("ok")


@get(
    "/ready",
    tags=["probes"],
    summary="Ready for work",
    responses={503: ResponseSpec(data_container=Status, description="not ready")},
)
async def ready(serving: Serving) -> Response[Status]:
    """200 once the model is loaded and takes requests; 503 before that and while shutting down."""
    return Response(
        Status("ready" if serving.ready else "loading"),
        status_code=200 if serving.ready else 503,
    )


@get("/metrics", tags=["probes"], summary="Prometheus metrics", media_type="text/plain")
async def scrape(metrics: ApiMetrics) -> Response[bytes]:
    """Requests, latency, tokens, batch sizes and queue depth in Prometheus' text format."""
    return Response(metrics.exposition(), media_type="text/plain; version=0.0.4")
