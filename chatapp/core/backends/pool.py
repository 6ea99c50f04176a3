"""The configured models' backends, made on demand and kept for reuse.

One backend per configured model name; the HTTP ones share one client, and local models
on the same GGUF file share one loaded Llama (never two copies of a file in memory), so
their generations queue on it one at a time.

Importing this module imports neither httpx nor llama_cpp: the UI asks which models are
ready before it has paid for either.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from chatapp.core.backends.base import Backend, BackendError

if TYPE_CHECKING:
    import httpx

    from chatapp.config import ModelConfig, Settings
    from chatapp.core.backends.llama_file import LlamaFile


def make_backend(config: ModelConfig, client: httpx.AsyncClient | None = None) -> Backend:
    """A backend of its own for one configured model (a pool shares what it can).

    Imports are lazy: llama_cpp and httpx cost hundreds of milliseconds and the UI paints
    before it needs either.
    """
    if config.backend == "llama":
        from chatapp.core.backends.llama_local import LlamaBackend

        return LlamaBackend(config)
    if config.backend == "openai":
        from chatapp.core.backends.openai_http import OpenAIBackend

        return OpenAIBackend(config, client)
    if config.backend == "ollama":
        from chatapp.core.backends.ollama_http import OllamaBackend

        return OllamaBackend(config, client)
    raise BackendError(f"unknown backend {config.backend!r} for model {config.name!r}")


class ModelPool:
    """The backends of one Settings' models, for the UI, the CLI and the session."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._backends: dict[str, Backend] = {}
        self._client: httpx.AsyncClient | None = None
        # Keyed by the resolved file path; None is the bundled model when not installed.
        self._llama_files: dict[Path | None, LlamaFile] = {}
        # Backends are made in worker threads (prepare) and on the event loop alike.
        self._lock = threading.Lock()

    def config(self, name: str | None = None) -> ModelConfig:
        """The model's configuration; ConfigError for a name that is not configured."""
        return self.settings.model(name)

    def get(self, name: str | None = None) -> Backend:
        """The model's backend, made on first use. Making one imports httpx or llama_cpp
        (35-300 ms), so the event loop should reach it through prepare()."""
        config = self.config(name)
        with self._lock:
            backend = self._backends.get(config.name)
            if backend is None:
                backend = self._backends[config.name] = self._make(config)
            return backend

    def ready(self, name: str | None = None) -> bool:
        """Whether the model can answer now; cheap, imports and loads nothing."""
        config = self.config(name)
        backend = self._backends.get(config.name)
        if backend is None:
            return config.backend != "llama"
        return backend.ready

    async def prepare(self, name: str | None = None) -> None:
        """Make the model ready off the event loop; raises the BackendError that stops it."""
        backend = await asyncio.to_thread(self.get, name)
        await backend.prepare()

    async def aclose(self) -> None:
        """Stop generations, free the loaded models and close the HTTP client."""
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()
        files, self._llama_files = list(self._llama_files.values()), {}
        for file in files:
            await asyncio.to_thread(file.unload)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _make(self, config: ModelConfig) -> Backend:
        if config.backend == "llama":
            from chatapp.core.backends.llama_local import LlamaBackend

            return LlamaBackend(config, self._llama_file(config))
        return make_backend(config, self._http_client())

    def _llama_file(self, config: ModelConfig) -> LlamaFile:
        """The file this model runs, shared with every configured model on the same file."""
        from chatapp.core.backends.llama_file import LlamaFile, model_file_key

        key = model_file_key(config)
        file = self._llama_files.get(key)
        if file is None:
            # Sized for every model that may share it, not only those made so far, so it
            # never has to reload to make room for one made later.
            others = [
                other
                for other in self.settings.models.values()
                if other is not config and other.backend == "llama" and model_file_key(other) == key
            ]
            file = self._llama_files[key] = LlamaFile.for_models([config, *others])
        return file

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            from chatapp.core.backends.http import make_client

            self._client = make_client()
        return self._client
