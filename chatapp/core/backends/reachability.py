"""Can each configured model be used right now? (for `chatapp models` and the model picker)"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from chatapp.config import ModelConfig, Settings
from chatapp.core.backends.base import BackendError, ModelFileError
from chatapp.core.backends.pool import make_backend
from chatapp.core.errors import ConfigError

CHECK_TIMEOUT = 3.0


async def check_model(config: ModelConfig) -> str:
    """One line: 'ok …' or what is wrong."""
    if config.backend == "llama":
        return _check_local(config)
    backend = make_backend(replace(config, timeout=CHECK_TIMEOUT))
    try:
        # Sends nothing: says what would stop every request (an unset API key).
        await backend.prepare()
        models = await asyncio.wait_for(backend.list_models(), CHECK_TIMEOUT + 1)
    except ConfigError as error:
        return str(error)
    except (BackendError, TimeoutError) as error:
        return f"unreachable: {error or 'timed out'}"
    finally:
        await backend.aclose()
    names = [m.name for m in models]
    if config.model and names and config.model not in names:
        return f"reachable, but {config.model!r} is not among: {', '.join(names[:5])}"
    return f"ok ({config.base_url})"


def local_model_problem(config: ModelConfig) -> str | None:
    """What stops a local model's file from loading, as a short status; None when the
    file looks loadable. Cheap (a stat and a 4-byte read), so the model picker uses it."""
    from chatapp.core.backends.llama_file import checked_model_path

    try:
        checked_model_path(config)
    except ModelFileError as error:
        return error.status
    except BackendError as error:
        return f"missing: {error}"
    return None


def _check_local(config: ModelConfig) -> str:
    from chatapp.core.backends.llama_file import bundled_model_path

    problem = local_model_problem(config)
    if problem is not None:
        return problem
    path = config.path or bundled_model_path()
    size = path.stat().st_size / 2**20
    return f"ok ({path.name}, {size:.0f} MiB, offline)"


async def check_models(settings: Settings) -> dict[str, str]:
    names = list(settings.models)
    results = await asyncio.gather(*(check_model(settings.models[n]) for n in names))
    return dict(zip(names, results, strict=True))
