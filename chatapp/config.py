"""Settings: config.toml + environment, validated once at the edge, then passed in."""

from __future__ import annotations

import dataclasses
import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar

from chatapp.core.errors import ConfigError

if TYPE_CHECKING:
    import tomllib

    from pydantic import GetCoreSchemaHandler, TypeAdapter, ValidationError
    from pydantic_core import CoreSchema

__all__ = ["ConfigError", "MemorySettings", "ModelConfig", "Secret", "Settings", "load_settings"]

APP_NAME = "chatapp"
EMBEDDED_MODEL = "smollm2"

# Chosen with bench/embedded_quality.py (20 easy questions, 3 seeds): SmolLM2-135M stays
# on topic and in English with this prompt (score 0.83 vs 0.79 for a looser one), and
# rambles or switches language when sampling runs hot (0.50-0.66 at temperature 0.7).
EMBEDDED_SYSTEM_PROMPT = (
    "You are a helpful assistant. Always answer in English, in one short sentence."
)

# The settings are plain dataclasses; pydantic validates them (Settings.validated) only
# when there is a file to check. Importing pydantic and building its schemas takes longer
# than Textual takes to draw a screen, and with no config file nothing needs it.
# Every table forbids unknown keys.
STRICT: dict[str, Any] = {"extra": "forbid"}


class Bounds:
    """A number's limits, as pydantic checks them (Annotated[int, Bounds(gt=0)]); read
    only when a file is validated."""

    def __init__(self, **limits: float) -> None:
        self.limits = limits

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        import annotated_types

        return handler(Annotated[source, annotated_types.Interval(**self.limits)])


class Secret:
    """An API key: its value only on request, never in a repr, a log or a dump."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic_core import core_schema

        return core_schema.union_schema(
            [
                core_schema.is_instance_schema(cls),
                core_schema.no_info_after_validator_function(cls, core_schema.str_schema()),
            ]
        )


@dataclass(kw_only=True)
class ModelConfig:
    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT

    name: str = ""
    backend: Literal["llama", "openai", "ollama"]
    path: Path | None = None
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    api_key: Secret | None = field(default=None, repr=False)
    n_ctx: Annotated[int, Bounds(gt=0)] = 8192
    n_threads: Annotated[int | None, Bounds(gt=0)] = None
    system_prompt: str | None = None
    temperature: Annotated[float | None, Bounds(ge=0)] = None
    top_p: Annotated[float | None, Bounds(gt=0, le=1)] = None
    top_k: Annotated[int | None, Bounds(ge=0)] = None
    repeat_penalty: Annotated[float | None, Bounds(gt=0)] = None
    max_tokens: Annotated[int, Bounds(gt=0)] = 512
    timeout: Annotated[float, Bounds(gt=0)] = 60.0
    # Ask this model for memory suggestions too (beside the rules); for capable models.
    extract_memories: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.api_key, str):  # given as text: kept out of sight from here on
            self.api_key = Secret(self.api_key)
        if self.backend in ("openai", "ollama") and not self.base_url:
            raise ValueError(f"backend {self.backend!r} needs base_url")

    @classmethod
    def validated(cls, values: Mapping[str, Any]) -> ModelConfig:
        """values checked and converted as a config file's would be (ValueError else)."""
        return _validated(cls, values)

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
    return ModelConfig(
        name=EMBEDDED_MODEL,
        backend="llama",
        n_ctx=8192,
        system_prompt=EMBEDDED_SYSTEM_PROMPT,
        temperature=0.2,
        top_p=0.9,
        repeat_penalty=1.0,
        max_tokens=512,
    )


@dataclass(kw_only=True)
class MemorySettings:
    """[memory] in config.toml."""

    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT

    # Save suggested facts without asking (off: each waits for the user's yes).
    auto: bool = False
    # The most tokens the memories of one prompt may take; whole facts only.
    budget_tokens: Annotated[int, Bounds(ge=0)] = 200


@dataclass(kw_only=True)
class Settings:
    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT

    default_model: str = EMBEDDED_MODEL
    # Whose data: --user, else CHATAPP_USER, else default_user here, else the OS login.
    user: str = field(default_factory=lambda: _default_user())
    theme: str | None = None
    memory: MemorySettings = field(default_factory=MemorySettings)
    models: dict[str, ModelConfig] = field(default_factory=dict)
    config_path: Path | None = None
    data_dir: Path = field(default_factory=lambda: default_data_dir())

    def __post_init__(self) -> None:
        for name, model in self.models.items():
            model.name = name
        self.models.setdefault(EMBEDDED_MODEL, embedded_model())
        if self.default_model not in self.models:
            known = ", ".join(sorted(self.models))
            raise ValueError(f"default_model {self.default_model!r} is not one of: {known}")

    @classmethod
    def validated(cls, values: Mapping[str, Any]) -> Settings:
        """values checked and converted as a config file's are (ValueError else);
        default_user is the file's name for user."""
        values = dict(values)
        if "default_user" in values:
            values.setdefault("user", values.pop("default_user"))
        return _validated(cls, values)

    def model(self, name: str | None = None) -> ModelConfig:
        name = name or self.default_model
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models))
            raise ConfigError(f"unknown model {name!r}; configured: {known}") from None


T = TypeVar("T")


# Each dataclass's pydantic TypeAdapter, built when first needed.
_adapters: dict[type, TypeAdapter[Any]] = {}


def _validated(kind: type[T], values: Mapping[str, Any]) -> T:
    """kind built from values by pydantic: types converted and limits checked (a
    pydantic ValidationError, a ValueError, says where else)."""
    adapter = _adapters.get(kind)
    if adapter is None:
        from pydantic import TypeAdapter

        adapter = _adapters[kind] = TypeAdapter(kind)
    result: T = adapter.validate_python(values)
    return result


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "default"


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("CHATAPP_CONFIG"):
        return Path(env["CHATAPP_CONFIG"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("CHATAPP_DATA_DIR"):
        return Path(env["CHATAPP_DATA_DIR"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def default_settings(data_dir: Path, user: str | None = None) -> Settings:
    """What no config file means: the embedded model, memory as by default (user, if
    None, is the OS login)."""
    if user is None:
        return Settings(data_dir=data_dir)
    return Settings(data_dir=data_dir, user=user)


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
            model.api_key = Secret(env[model.api_key_env])
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
    from pydantic import ValidationError

    try:
        return Settings.validated(raw)
    except ValidationError as error:
        raise ConfigError(_validation_error(path, text, error)) from None


def _toml_error(path: Path, error: tomllib.TOMLDecodeError) -> str:
    message = str(error)
    match = re.search(r"\(at line (\d+), column \d+\)", message)
    line = match.group(1) if match else "1"
    problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) or "invalid TOML"
    return f"{path}:{line}: {problem}"


# What pydantic calls a key a table does not have (as keyword arguments of a dataclass).
UNKNOWN_KEY = {"extra_forbidden", "unexpected_keyword_argument"}


def _validation_error(path: Path, text: str, error: ValidationError) -> str:
    first = error.errors()[0]
    location = [str(part) for part in first["loc"]]
    if location == ["user"] and re.search(r"^\s*default_user\s*=", text, re.MULTILINE):
        location = ["default_user"]  # the file's name for it
    line = _line_of(text, location)
    where = ".".join(location)
    problem = first["msg"].removeprefix("Value error, ")
    if first["type"] in UNKNOWN_KEY:
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
    """Settings as JSON values for `chatapp config show`: no secret values, ever (an API
    key shows as "***"), and not the config file's own path."""
    data: dict[str, Any] = _plain(settings)
    del data["config_path"]
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return "***"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value
