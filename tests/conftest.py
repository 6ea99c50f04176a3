"""Shared fixtures. Real servers live in tests/fixtures/ and are session-scoped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.servers", "tests.fixtures.scripted"]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory; CHATAPP_* points every entry point at it."""
    path = tmp_path / "data"
    monkeypatch.setenv("CHATAPP_DATA_DIR", str(path))
    monkeypatch.setenv("CHATAPP_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("CHATAPP_USER", "tester")
    return path


@pytest.fixture(scope="session")
def cores() -> int:
    return os.cpu_count() or 1
