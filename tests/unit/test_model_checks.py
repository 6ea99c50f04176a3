"""A model that cannot work says why in one line before anything is loaded or sent: a local
file that is missing, unreadable or not a GGUF, a remote model whose API key is not set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatapp.config import ModelConfig, Secret, load_settings
from chatapp.core.backends.base import (
    ModelFileMissing,
    ModelFileUnreadable,
    NotAGGUFFile,
)
from chatapp.core.backends.llama_file import bundled_model_path, check_model_file
from chatapp.core.backends.reachability import check_model, check_models
from tests.fixtures.servers import closed_port_url

CHATAPP = [sys.executable, "-m", "chatapp"]
KEY_ENV = "CHATAPP_TEST_UNSET_KEY"


@pytest.fixture
def text_gguf(tmp_path: Path) -> Path:
    """A text file someone named .gguf."""
    path = tmp_path / "notes.gguf"
    path.write_text("hello, this is not a model\n")
    return path


@pytest.fixture
def config_file(tmp_path: Path, text_gguf: Path) -> Path:
    """A config with one model of each kind of trouble, and no key in the environment."""
    folder = tmp_path / "folder.gguf"
    folder.mkdir()
    path = tmp_path / "config.toml"
    path.write_text(
        f'[models.notes]\nbackend = "llama"\npath = "{text_gguf}"\n\n'
        f'[models.gone]\nbackend = "llama"\npath = "{tmp_path / "gone.gguf"}"\n\n'
        f'[models.folder]\nbackend = "llama"\npath = "{folder}"\n\n'
        f'[models.gpt]\nbackend = "openai"\nbase_url = "{closed_port_url()}"\n'
        f'model = "gpt-4o"\napi_key_env = "{KEY_ENV}"\n'
    )
    return path


@pytest.fixture
def env(tmp_path: Path, config_file: Path) -> dict[str, str]:
    values = {name: value for name, value in os.environ.items() if name != KEY_ENV}
    values.update(
        CHATAPP_DATA_DIR=str(tmp_path / "data"),
        CHATAPP_CONFIG=str(config_file),
        CHATAPP_USER="tester",
    )
    return values


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHATAPP, *args], env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


# -- the file checks ------------------------------------------------------------------------


def test_a_text_file_named_gguf_is_not_a_gguf(text_gguf: Path) -> None:
    with pytest.raises(NotAGGUFFile) as caught:
        check_model_file(text_gguf, "smollm2")
    assert str(caught.value) == (
        f"model smollm2: {text_gguf} is not a GGUF file (it starts with 'hell', not 'GGUF')"
    )
    assert caught.value.status == f"not a GGUF file: {text_gguf}"


def test_binary_and_empty_files_are_shown_on_one_line(tmp_path: Path) -> None:
    png = tmp_path / "picture.gguf"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(NotAGGUFFile) as caught:
        check_model_file(png, "big")
    assert str(caught.value).endswith("(it starts with '\\x89PNG', not 'GGUF')")

    empty = tmp_path / "empty.gguf"
    empty.touch()
    with pytest.raises(NotAGGUFFile) as caught:
        check_model_file(empty, "big")
    assert str(caught.value) == f"model big: {empty} is not a GGUF file (it is empty)"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere" / "big.gguf"
    with pytest.raises(ModelFileMissing) as caught:
        check_model_file(nowhere, "big")
    assert str(caught.value) == f"model big: no file at {nowhere}"
    assert caught.value.status == f"missing: no file at {nowhere}"


def test_a_directory_cannot_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "x.gguf"
    folder.mkdir()
    with pytest.raises(ModelFileUnreadable) as caught:
        check_model_file(folder, "big")
    assert str(caught.value) == f"model big: cannot read {folder}: Is a directory"
    assert caught.value.status == f"unreadable: {folder}: Is a directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_file_without_read_permission_cannot_be_read(tmp_path: Path) -> None:
    locked = tmp_path / "locked.gguf"
    locked.write_bytes(b"GGUF")
    locked.chmod(0)
    with pytest.raises(ModelFileUnreadable) as caught:
        check_model_file(locked, "big")
    assert str(caught.value) == f"model big: cannot read {locked}: Permission denied"


def test_the_bundled_model_passes() -> None:
    check_model_file(bundled_model_path(), "smollm2")


# -- what `chatapp models` says --------------------------------------------------------------


async def test_check_models_says_what_is_wrong_without_contacting_anyone(
    config_file: Path, text_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    settings = load_settings(config_file)

    statuses = await check_models(settings)

    assert statuses["notes"] == f"not a GGUF file: {text_gguf}"
    assert statuses["gone"] == f"missing: no file at {tmp_path / 'gone.gguf'}"
    assert statuses["folder"] == f"unreadable: {tmp_path / 'folder.gguf'}: Is a directory"
    # Not "unreachable": the key is missed before the (closed) port is tried.
    assert statuses["gpt"] == f"{KEY_ENV} is not set (api_key_env of model gpt)"
    assert statuses["smollm2"].startswith("ok (")


async def test_with_its_key_set_the_model_is_asked_for(tmp_path: Path) -> None:
    gpt = ModelConfig(
        name="gpt",
        backend="openai",
        base_url=closed_port_url(),
        api_key_env=KEY_ENV,
        api_key=Secret("sk-test"),
    )
    assert (await check_model(gpt)).startswith("unreachable: cannot connect to ")


@pytest.mark.slow
def test_chatapp_models_shows_each_problem(env: dict[str, str], text_gguf: Path) -> None:
    result = run(env, "models")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert lines["notes"].endswith(f"llama   not a GGUF file: {text_gguf}")
    assert "missing: no file at" in lines["gone"]
    assert "unreadable:" in lines["folder"] and lines["folder"].endswith("Is a directory")
    assert lines["gpt"].endswith(f"openai  {KEY_ENV} is not set (api_key_env of model gpt)")


@pytest.mark.slow
def test_chatapp_ask_names_the_unset_key_in_one_line(env: dict[str, str]) -> None:
    result = run(env, "ask", "--model", "gpt", "Hello?")
    assert result.returncode != 0
    assert result.stderr == f"chatapp: {KEY_ENV} is not set (api_key_env of model gpt)\n"


@pytest.mark.slow
def test_chatapp_ask_names_the_bad_model_file_in_one_line(
    env: dict[str, str], text_gguf: Path
) -> None:
    result = run(env, "ask", "--model", "notes", "Hello?")
    assert result.returncode != 0
    assert result.stderr == (
        f"chatapp: model notes: {text_gguf} is not a GGUF file "
        "(it starts with 'hell', not 'GGUF')\n"
    )
