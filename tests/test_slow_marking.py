"""`make test-fast` leaves out the tests that start processes or servers: the conftest hook finds
them."""

from __future__ import annotations

import types

import pytest

from tests.conftest import _starts_processes


def module_with(**names: object) -> types.ModuleType:
    module = types.ModuleType("tests.example")
    vars(module).update(names)
    return module


def test_a_module_importing_subprocess_or_a_loopback_helper_is_slow():
    import subprocess

    from devkit.loopback_server import free_port

    assert _starts_processes(module_with(subprocess=subprocess))
    assert _starts_processes(module_with(free_port=free_port))


def test_a_module_of_plain_unit_tests_is_not():
    from devkit.tiny_model import build_tokenizer

    assert not _starts_processes(module_with(pytest=pytest, build_tokenizer=build_tokenizer))


def test_the_bot_stand_in_fixture_makes_a_test_slow(request, api):
    assert request.node.get_closest_marker("slow") is not None
