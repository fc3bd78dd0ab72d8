"""The published OpenAPI document, made to tell the truth about request bodies and streamed answers.

Litestar's schema generation drops bounds whose value is 0 and constraints inside unions, list items and
`forbid_unknown_fields`; msgspec, which validates the bodies, also writes their JSON Schema, so that is the
one published for each request body.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

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
    """Serves /schema/openapi.json with each POST body's schema written by msgspec from its real type."""

    def __init__(self, bodies: dict[str, type], streaming_paths: set[str]) -> None:
        super().__init__()
        self._bodies = bodies
        self._streaming = streaming_paths
        self._rendered: bytes | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            self._rendered = super().render(
                request, truthful(openapi_schema, self._bodies, self._streaming)
            )
        return self._rendered


def truthful(
    document: dict[str, Any], bodies: dict[str, type], streaming_paths: set[str]
) -> dict[str, Any]:
    """A copy of `document` with msgspec's request-body schemas and the event-stream answers added."""
    document = msgspec.json.decode(msgspec.json.encode(document))  # a deep copy of plain data
    paths = list(bodies)
    refs, components = msgspec.json.schema_components([bodies[p] for p in paths], ref_template=_REF)
    document.setdefault("components", {}).setdefault("schemas", {}).update(components)
    for path, ref in zip(paths, refs):
        operation = document["paths"][path]["post"]
        operation["requestBody"]["content"]["application/json"]["schema"] = ref
        if path in streaming_paths:
            operation["responses"]["200"]["content"]["text/event-stream"] = _EVENT_STREAM
    return document
