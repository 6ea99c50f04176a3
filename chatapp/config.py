"""Settings: config.toml + environment, validated once at the edge, then passed in."""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import platformdirs
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from chatapp.core.errors import ConfigError

if TYPE_CHECKING:
    import tomllib

__all__ = ["ConfigError", "ModelConfig", "Settings", "load_settings"]

APP_NAME = "chatapp"
EMBEDDED_MODEL = "smollm2"

# Chosen with bench/embedded_quality.py (20 easy questions, 3 seeds): SmolLM2-135M stays
# on topic and in English with this prompt (score 0.83 vs 0.79 for a looser one), and
# rambles or switches language when sampling runs hot (0.50-0.66 at temperature 0.7).
EMBEDDED_SYSTEM_PROMPT = (
    "You are a helpful assistant. Always answer in English, in one short sentence."
)


# Each model's schema is built when something is first validated, not at import: with no
# config file nothing is (default_settings), and the first screen does not wait for it.
DEFERRED = ConfigDict(extra="forbid", defer_build=True)


class ModelConfig(BaseModel):
    model_config = DEFERRED

    name: str = ""
    backend: Literal["llama", "openai", "ollama"]
    path: Path | None = None
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    api_key: SecretStr | None = Field(default=None, exclude=True)
    n_ctx: int = Field(default=8192, gt=0)
    n_threads: int | None = Field(default=None, gt=0)
    system_prompt: str | None = None
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    repeat_penalty: float | None = Field(default=None, gt=0)
    max_tokens: int = Field(default=512, gt=0)
    timeout: float = Field(default=60.0, gt=0)
    # Ask this model for memory suggestions too (beside the rules); for capable models.
    extract_memories: bool = False

    @model_validator(mode="after")
    def _needs_a_location(self) -> ModelConfig:
        if self.backend in ("openai", "ollama") and not self.base_url:
            raise ValueError(f"backend {self.backend!r} needs base_url")
        return self

    @property
    def is_embedded(self) -> bool:
        """The bundled SmolLM2 (a local model with no path of its own)."""
        return self.backend == "llama" and self.path is None

    @property
    def label(self) -> str:
        """What answered, for the status bar and reply headers."""
        if self.backend == "llama":
            return self.name if self.path is None else f"{self.name} ({self.path.name})"
        return f"{self.name} ({self.model or 'server default'} @ {self.base_url})"


def embedded_model() -> ModelConfig:
    # Our own values, valid as they are: made without validation.
    return ModelConfig.model_construct(
        name=EMBEDDED_MODEL,
        backend="llama",
        n_ctx=8192,
        system_prompt=EMBEDDED_SYSTEM_PROMPT,
        temperature=0.2,
        top_p=0.9,
        repeat_penalty=1.0,
        max_tokens=512,
    )


class MemorySettings(BaseModel):
    """[memory] in config.toml."""

    model_config = DEFERRED

    # Save suggested facts without asking (off: each waits for the user's yes).
    auto: bool = False
    # The most tokens the memories of one prompt may take; whole facts only.
    budget_tokens: int = Field(default=200, ge=0)


class Settings(BaseModel):
    model_config = DEFERRED

    default_model: str = EMBEDDED_MODEL
    # Whose data: --user, else CHATAPP_USER, else default_user here, else the OS login.
    user: str = Field(
        default_factory=lambda: _default_user(),
        validation_alias=AliasChoices("default_user", "user"),
    )
    theme: str | None = None
    memory: MemorySettings = Field(default_factory=MemorySettings)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    config_path: Path | None = Field(default=None, exclude=True)
    data_dir: Path = Field(default_factory=lambda: default_data_dir())

    @model_validator(mode="after")
    def _name_models(self) -> Settings:
        for name, model in self.models.items():
            model.name = name
        self.models.setdefault(EMBEDDED_MODEL, embedded_model())
        if self.default_model not in self.models:
            known = ", ".join(sorted(self.models))
            raise ValueError(f"default_model {self.default_model!r} is not one of: {known}")
        return self

    def model(self, name: str | None = None) -> ModelConfig:
        name = name or self.default_model
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models))
            raise ConfigError(f"unknown model {name!r}; configured: {known}") from None


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "default"


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("CHATAPP_CONFIG"):
        return Path(env["CHATAPP_CONFIG"]).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("CHATAPP_DATA_DIR"):
        return Path(env["CHATAPP_DATA_DIR"]).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))


def default_settings(data_dir: Path, user: str | None = None) -> Settings:
    """What no config file means: the embedded model, memory as by default. Our own
    values, made without validation (user, if None, is the OS login)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "memory": MemorySettings.model_construct(),
        "models": {EMBEDDED_MODEL: embedded_model()},
    }
    if user is not None:
        values["user"] = user
    return Settings.model_construct(**values)


def load_settings(
    path: Path | None = None, env: Mapping[str, str] = os.environ, *, user: str | None = None
) -> Settings:
    """Read config.toml (a missing file means defaults) and resolve API keys from env;
    user (from --user) wins over CHATAPP_USER and the file's default_user."""
    path = path or default_config_path(env)
    if user is None and env.get("CHATAPP_USER"):
        user = env["CHATAPP_USER"]
    if path.exists():
        settings = _read_settings(path, env, user)
    else:
        settings = default_settings(default_data_dir(env), user)
    settings.config_path = path
    for model in settings.models.values():
        if model.api_key_env and env.get(model.api_key_env):
            model.api_key = SecretStr(env[model.api_key_env])
    return settings


def _read_settings(path: Path, env: Mapping[str, str], user: str | None) -> Settings:
    """The config file's settings, validated; a ConfigError says where it is wrong."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_toml_error(path, error)) from None
    raw.setdefault("data_dir", str(default_data_dir(env)))
    if user is not None:
        raw.pop("default_user", None)
        raw["user"] = user
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_validation_error(path, text, error)) from None


def _toml_error(path: Path, error: tomllib.TOMLDecodeError) -> str:
    message = str(error)
    match = re.search(r"\(at line (\d+), column \d+\)", message)
    line = match.group(1) if match else "1"
    problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) or "invalid TOML"
    return f"{path}:{line}: {problem}"


def _validation_error(path: Path, text: str, error: ValidationError) -> str:
    first = error.errors()[0]
    location = [str(part) for part in first["loc"]]
    line = _line_of(text, location)
    where = ".".join(location)
    problem = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        problem = "unknown setting"
    label = f"{where}: " if where else ""
    return f"{path}:{line}: {label}{problem}"


def _line_of(text: str, location: list[str]) -> int:
    """Best line for a dotted config key: the key's own line, else its nearest table header."""
    lines = text.splitlines()
    table, key = location[:-1], (location[-1] if location else "")
    start = _header_line(lines, table) if table else 0
    key_pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for number, line in enumerate(lines[start:], start + 1):
        if number > start + 1 and line.lstrip().startswith("["):
            break
        if key_pattern.match(line):
            return number
    # A whole-table error ("backend 'openai' needs base_url") points at the table itself.
    return _header_line(lines, location) or start or 1


def _header_line(lines: list[str], location: list[str]) -> int:
    """Line of the deepest [a.b.c] header that names a prefix of location, or 0."""
    for size in range(len(location), 0, -1):
        parts = r"\s*\.\s*".join(re.escape(part) for part in location[:size])
        pattern = re.compile(r"^\s*\[\s*" + parts + r"\s*\]")
        for number, line in enumerate(lines, 1):
            if pattern.match(line):
                return number
    return 0


def redacted(settings: Settings) -> dict[str, Any]:
    """Settings as a dict for `chatapp config show`: no secret values, ever."""
    data = settings.model_dump(mode="json")
    for name, model in settings.models.items():
        data["models"][name]["api_key"] = "***" if model.api_key else None
    return data
