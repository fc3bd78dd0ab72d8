"""Explicit examples for the docs page: the request body "Try it out" sends and each error's body,
as the server really answers (tests/test_api_docs_browser.py posts them from a real browser)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Above 2**53 a JavaScript number loses digits: Swagger UI sends 9223372036854776000 for 2**63 - 1.
_JS_SAFE_INTEGER = 2**53 - 1
_SAFE_INTEGER_EXAMPLE = 42


@dataclass(frozen=True)
class ExampleFacts:
    """What the examples quote: the served model id and the limits the messages name."""

    model_id: str
    max_tokens: int
    max_queue: int
    request_timeout_s: float


METRICS_EXAMPLE = (
    "# HELP tinktalker_requests_total HTTP requests answered\n"
    "# TYPE tinktalker_requests_total counter\n"
    'tinktalker_requests_total{path="/v1/chat/completions",status="200"} 12.0\n'
)


def success_examples(facts: ExampleFacts) -> dict[str, Any]:
    """The 200 bodies Litestar would make up (random strings) or get wrong, by path."""
    card = {
        "id": facts.model_id,
        "created": 1764250000,
        "owned_by": "tinktalker",
        "object": "model",
    }
    return {
        "/answer": "Думаю, что рынок сейчас на распутье, но я держу долгосрок.",
        "/health": {"status": "ok"},
        "/ready": {"status": "ready"},
        "/v1/models": {"data": [card], "object": "list"},
    }


def error_examples(path: str, facts: ExampleFacts) -> dict[int, dict[str, Any]]:
    """The body of each error answer of `path`, by status."""
    too_far = (
        "context: Expected `array` of length <= 3"
        if path == "/answer"
        else f"max_tokens: Expected `int` <= {facts.max_tokens}"
    )
    said = {
        400: (f"Validation failed for POST {path}: {too_far}", "invalid_request_error"),
        401: (
            "a valid API key is required: send 'Authorization: Bearer <key>'",
            "invalid_request_error",
        ),
        404: (
            f"model 'gpt-4o' is not served here; use '{facts.model_id}' (see GET /v1/models)",
            "model_not_found",
        ),
        413: ("Request Entity Too Large", "invalid_request_error"),
        429: (
            f"too many requests are waiting ({facts.max_queue} replies are already waiting); "
            "retry later",
            "rate_limit_error",
        ),
        503: ("the model cannot answer now: the generator is shutting down", "unavailable"),
        504: (f"no reply within {facts.request_timeout_s} s", "timeout"),
    }
    return {
        code: {"error": {"message": m, "type": t, "code": code}} for code, (m, t) in said.items()
    }


def body_example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A request made of the examples the schema gives (following $ref), as a reader would write."""
    if "$ref" in schema:
        return body_example(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "examples" in schema:
        return schema["examples"][0]
    return {
        name: body_example(field, components)
        for name, field in schema.get("properties", {}).items()
        if "examples" in field or "$ref" in field
    }


def safe_integer_examples(schema: Any) -> None:
    """Give every integer whose maximum a browser cannot hold a small example, in place."""
    if isinstance(schema, dict):
        too_big = schema.get("type") == "integer" and schema.get("maximum", 0) > _JS_SAFE_INTEGER
        if too_big and "examples" not in schema:
            schema["examples"] = [_SAFE_INTEGER_EXAMPLE]
        for value in schema.values():
            safe_integer_examples(value)
    elif isinstance(schema, list):
        for value in schema:
            safe_integer_examples(value)
