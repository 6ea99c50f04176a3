"""Fixtures of the unit tests that run the `chatapp` command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a `chatapp` process with its own data dir and config file."""
    values = dict(os.environ)
    values.update(
        CHATAPP_DATA_DIR=str(tmp_path / "data"),
        CHATAPP_CONFIG=str(tmp_path / "config.toml"),
        CHATAPP_USER="tester",
    )
    return values
