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
from tinktalker.entrypoints.api.openapi_examples import (
    METRICS_EXAMPLE,
    ExampleFacts,
    body_example,
    error_examples,
    safe_integer_examples,
    success_examples,
)

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

    def __init__(self, truth: SchemaTruth, facts: ExampleFacts) -> None:
        super().__init__()
        self._truth = truth
        self._facts = facts
        self._document: dict[str, Any] | None = None
        self._rendered: bytes | None = None

    def document(self, openapi_schema: dict[str, Any]) -> dict[str, Any]:
        """The published document (built once): what the docs page shows too."""
        if self._document is None:
            document = truthful(openapi_schema, self._truth)
            self._document = with_examples(document, self._facts)
        return self._document

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            self._rendered = super().render(request, self.document(openapi_schema))
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


def with_examples(document: dict[str, Any], facts: ExampleFacts) -> dict[str, Any]:
    """`document` with an explicit example for each request body and answer, in place: what Swagger
    UI makes up from the schemas alone is refused (2**63 - 1 as a seed, `{"additionalProp1": 0}` as
    logit_bias) or random (the 400/404 bodies Litestar generates)."""
    components = document.get("components", {}).get("schemas", {})
    for name in (
        "ErrorBody",
        "ErrorDetail",
    ):  # Litestar's made-up examples; the fields carry real ones
        components.get(name, {}).pop("examples", None)
    safe_integer_examples(components)
    for path, operations in document["paths"].items():
        for operation in operations.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                body["example"] = body_example(body["schema"], components)
            _answer_examples(path, operation.get("responses", {}), facts)
    return document


def _answer_examples(path: str, responses: dict[str, Any], facts: ExampleFacts) -> None:
    errors, successes = error_examples(path, facts), success_examples(facts)
    for code, response in responses.items():
        content = response.get("content", {})
        if path == "/metrics" and "text/plain" in content:
            content["text/plain"]["example"] = METRICS_EXAMPLE
        json_body = content.get("application/json")
        if json_body is None:
            continue
        if code == "200" and path in successes:
            json_body["schema"].pop("examples", None)
            json_body["example"] = successes[path]
        elif int(code) in errors and json_body["schema"].get("$ref", "").endswith("/ErrorBody"):
            json_body["example"] = errors[int(code)]
        elif path == "/ready" and code == "503":
            json_body["example"] = {"status": "loading"}
