"""Property-based fuzzing of the OpenAPI schema against the real tiny model: no request may cause a
5xx, and every request the published schema allows is accepted (the schema tells the truth about the
limits)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from devkit.loopback_server import serving_in_thread

# Per body operation: positive cases reach the model (slower), negative ones stop at the validators.
# 3 x 120 + 3 x 220 = 1020 cases, about a minute on two busy cores.
EXAMPLES = {GenerationMode.POSITIVE: 120, GenerationMode.NEGATIVE: 220}


@pytest.fixture(scope="module")
def fuzzed_url(tiny_model_dir):
    from tinktalker.entrypoints.api.app import make_app
    from tinktalker.entrypoints.container import make_container
    from tinktalker.entrypoints.settings import Settings

    settings_ = Settings.model_validate(
        {
            "model": {"name_or_path": str(tiny_model_dir), "device": "cpu"},
            "generation": {"max_new_tokens": 2, "num_beams": 1},
            "store": {"backend": "memory"},
            "server": {
                "max_tokens": 2,
                "max_message_chars": 300,
                "request_timeout_s": 30,
            },  # short replies: fast
        }
    )
    with serving_in_thread(make_app(make_container(settings_), settings_)) as url:
        yield url


def operations(url: str):
    # Built at run time from the live server's schema (schemathesis' lazy pytest fixture breaks on
    # pytest 9).
    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_the_schema_allows_or_forbids_causes_a_server_error(fuzzed_url, mode):
    seen = []
    for operation in operations(fuzzed_url):
        if mode is GenerationMode.NEGATIVE and not len(operation.body):
            continue  # nothing to get wrong in a request without a body

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case):
            response = case.call(base_url=fuzzed_url, timeout=30)
            seen.append(response.status_code)
            assert response.status_code < 500, (case.method, case.path, case.body, response.text)
            # and every answer, errors included, is one the schema documents, in the documented
            # shape (not negative_data_rejection: Litestar converts leniently, e.g. 0 for false, and
            # accepting more than the schema allows breaks no client)
            case.validate_response(
                response,
                checks=[
                    not_a_server_error,
                    positive_data_acceptance,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        no_server_error()
    assert len(seen) >= 3 * EXAMPLES[mode], len(seen)
    if mode is GenerationMode.POSITIVE:
        assert (
            seen.count(200) > len(seen) // 2
        )  # the fuzzer did reach the model, not only the validators
