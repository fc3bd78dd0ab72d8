"""The published OpenAPI document, made to tell the truth about request bodies and streamed answers.

Litestar's schema generation drops bounds whose value is 0 and constraints inside unions, list
items and `forbid_unknown_fields`; msgspec, which validates the bodies, also writes their JSON
Schema, so that is the one published for each request body, with the server's limits written in
(limits.py). Without an API key no operation answers 401, so none says it may.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

from tinktalker.entrypoints.api.limits import ApiLimits, publish_limits

_REF = "#/components/schemas/{name}"
_EVENT_STREAM = {
    "schema": {  # before OpenAPI 3.2 the schema of an event stream describes each event
        "type": "object",
        "required": ["data"],
        "description": "with `stream: true`: Server-Sent Events, one JSON "
        "chunk (`chat.completion.chunk` or `text_completion`) per event, the last one `[DONE]`",
        "properties": {"data": {"type": "string"}, "event": {"type": "string"}},
    }
}


class TruthfulJsonRenderPlugin(JsonRenderPlugin):
    """Serves /schema/openapi.json with each POST body's schema written by msgspec from its real
    type."""

    def __init__(self, truth: SchemaTruth) -> None:
        super().__init__()
        self._truth = truth
        self._rendered: bytes | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            self._rendered = super().render(request, truthful(openapi_schema, self._truth))
        return self._rendered


@dataclass(frozen=True, kw_only=True)
class SchemaTruth:
    bodies: dict[str, type]  # path: the type of its POST body
    streaming_paths: set[str]
    limits: Callable[[], ApiLimits]  # as the loaded model bounds them
    model_id: str
    secured: bool  # whether an API key is asked for (else no 401 is possible)


def truthful(document: dict[str, Any], truth: SchemaTruth) -> dict[str, Any]:
    """A copy of `document` with msgspec's request-body schemas and the event-stream answers
    added."""
    document = msgspec.json.decode(msgspec.json.encode(document))  # a deep copy of plain data
    bodies, streaming_paths = truth.bodies, truth.streaming_paths
    paths = list(bodies)
    refs, components = msgspec.json.schema_components([bodies[p] for p in paths], ref_template=_REF)
    publish_limits(components, truth.limits(), truth.model_id)
    document.setdefault("components", {}).setdefault("schemas", {}).update(components)
    if not truth.secured:
        for operations in document["paths"].values():
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation.get("responses", {}).pop("401", None)
    for path, ref in zip(paths, refs, strict=True):
        operation = document["paths"][path]["post"]
        operation["requestBody"]["content"]["application/json"]["schema"] = ref
        if path in streaming_paths:
            operation["responses"]["200"]["content"]["text/event-stream"] = _EVENT_STREAM
    return document
