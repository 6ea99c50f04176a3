"""Can each configured model be used right now? (for `chatapp models` and the model picker)"""

from __future__ import annotations

import asyncio

from chatapp.config import ModelConfig, Settings
from chatapp.core.backends.base import BackendError
from chatapp.core.backends.pool import make_backend

CHECK_TIMEOUT = 3.0


async def check_model(config: ModelConfig) -> str:
    """One line: 'ok …' or what is wrong."""
    if config.backend == "llama":
        return _check_local(config)
    backend = make_backend(config.model_copy(update={"timeout": CHECK_TIMEOUT}))
    try:
        models = await asyncio.wait_for(backend.list_models(), CHECK_TIMEOUT + 1)
    except (BackendError, TimeoutError) as error:
        return f"unreachable: {error or 'timed out'}"
    finally:
        await backend.aclose()
    names = [m.name for m in models]
    if config.model and names and config.model not in names:
        return f"reachable, but {config.model!r} is not among: {', '.join(names[:5])}"
    return f"ok ({config.base_url})"


def _check_local(config: ModelConfig) -> str:
    from chatapp.core.backends.llama_file import bundled_model_path

    try:
        path = config.path or bundled_model_path()
    except BackendError as error:
        return f"missing: {error}"
    if not path.is_file():
        return f"missing: no file at {path}"
    size = path.stat().st_size / 2**20
    return f"ok ({path.name}, {size:.0f} MiB, offline)"


async def check_models(settings: Settings) -> dict[str, str]:
    names = list(settings.models)
    results = await asyncio.gather(*(check_model(settings.models[n]) for n in names))
    return dict(zip(names, results, strict=True))
