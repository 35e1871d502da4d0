"""End-to-end tests: real PostgreSQL, real sshd, real worker processes, headless Chromium.
All of them are `slow`: `pytest -m "not slow"` runs the unit and contract tests alone."""
from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.slow)
