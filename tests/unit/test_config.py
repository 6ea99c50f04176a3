"""Settings: no file works; a bad file is one line with file:line; secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatapp.config import ConfigError, load_settings, redacted


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_no_config_file_means_the_embedded_model(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "missing.toml", env={})
    assert settings.default_model == "smollm2"
    model = settings.model()
    assert model.backend == "llama" and model.path is None


def test_named_models_and_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'default_model = "local"\n\n[models.local]\nbackend = "openai"\n'
        'base_url = "http://127.0.0.1:8080/v1"\nmodel = "qwen"\napi_key_env = "MY_KEY"\n',
    )
    settings = load_settings(path, env={"MY_KEY": "sk-secret-123"})
    model = settings.model()
    assert model.name == "local" and model.model == "qwen"
    assert model.api_key is not None and model.api_key.get_secret_value() == "sk-secret-123"
    assert "sk-secret-123" not in str(redacted(settings))
    assert "sk-secret-123" not in repr(settings)


def test_an_unset_api_key_env_still_opens_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote model whose key is missing says so when it is used, not at start-up."""
    monkeypatch.delenv("CHATAPP_TEST_UNSET_KEY", raising=False)
    path = write(
        tmp_path,
        '[models.gpt]\nbackend = "openai"\nbase_url = "https://api.openai.com/v1"\n'
        'api_key_env = "CHATAPP_TEST_UNSET_KEY"\n',
    )
    settings = load_settings(path)
    model = settings.model("gpt")
    assert model.api_key_env == "CHATAPP_TEST_UNSET_KEY" and model.api_key is None
    assert settings.default_model == "smollm2"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('default_model = "x"\n[models.a\n', 2, "Expected"),
        ('[models.a]\nbackend = "llama"\nn_ctx = "big"\n', 3, "n_ctx"),
        ('[models.a]\nbackend = "openai"\n', 1, "needs base_url"),
        ('\n\n[models.a]\nbackend = "llama"\ncolour = 3\n', 5, "unknown setting"),
        ('default_model = "nope"\n', 1, "not one of"),
    ],
)
def test_bad_config_is_one_line_with_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}:")
    assert words in message
