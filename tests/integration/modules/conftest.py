"""The module tests' runner: module tasks run by ansible-playbook, every AWS call seen through a recording proxy."""

from __future__ import annotations

import pytest

from .plays import PlaybookRunner, RecordingProxy


@pytest.fixture(scope="module")
def run(sandbox, tmp_path_factory):
    proxy = RecordingProxy(sandbox.endpoint_url).start()
    yield PlaybookRunner(proxy, tmp_path_factory.mktemp("plays"), {"access_key": "testing", "secret_key": "testing"})
    proxy.stop()
