"""Property-based fuzzing of the OpenAPI schema against the real tiny model: no request may cause a 5xx."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.loopback_server import serving_in_thread

EXAMPLES_PER_OPERATION = 20  # bounded: the whole fuzz stays within seconds on two cores


@pytest.fixture(scope="module")
def fuzzed_url(tiny_model_dir):
    from entrypoints.api.app import make_app
    from entrypoints.container import make_container
    from entrypoints.settings import Settings

    settings_ = Settings.model_validate({
        "model": {"name_or_path": str(tiny_model_dir), "device": "cpu"},
        "generation": {"max_new_tokens": 4, "num_beams": 1},
        "store": {"backend": "memory"},
        "server": {"max_tokens": 8, "max_message_chars": 300, "request_timeout_s": 30},
    })
    with serving_in_thread(make_app(make_container(settings_), settings_)) as url:
        yield url


def operations(url: str):
    # Built at run time from the live server's schema (schemathesis' lazy pytest fixture breaks on pytest 9).
    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_the_schema_allows_or_forbids_causes_a_server_error(fuzzed_url, mode):
    seen = []
    for operation in operations(fuzzed_url):
        if mode is GenerationMode.NEGATIVE and not len(operation.body):
            continue  # nothing to get wrong in a request without a body
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            response = case.call(base_url=fuzzed_url, timeout=30)
            seen.append(response.status_code)
            assert response.status_code < 500, (case.method, case.path, case.body, response.text)
            # and every answer, errors included, is one the schema documents, in the documented shape
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                     content_type_conformance, response_schema_conformance])

        no_server_error()
    assert len(seen) >= 20
    if mode is GenerationMode.POSITIVE:
        assert 200 in seen  # the fuzzer did reach the model, not only the validators
