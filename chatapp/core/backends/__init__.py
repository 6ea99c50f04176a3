"""Model backends, made on demand and kept for reuse (a local model loads once)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from chatapp.core.backends.base import Backend, BackendError

if TYPE_CHECKING:
    import httpx

    from chatapp.config import ModelConfig, Settings


def make_backend(config: ModelConfig, client: httpx.AsyncClient | None = None) -> Backend:
    """A backend for one configured model. Imports are lazy: llama_cpp and httpx
    cost hundreds of milliseconds and the UI paints before it needs either."""
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


class BackendPool:
    """One backend per configured model name, sharing one HTTP client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._backends: dict[str, Backend] = {}
        self._client: httpx.AsyncClient | None = None
        # The UI makes backends ahead of use in a worker thread, and on demand on the loop.
        self._lock = threading.Lock()

    def get(self, name: str | None = None) -> Backend:
        config = self.settings.model(name)
        with self._lock:
            if config.name not in self._backends:
                client = self._http_client() if config.backend != "llama" else None
                self._backends[config.name] = make_backend(config, client)
            return self._backends[config.name]

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            from chatapp.core.backends.http import make_client

            self._client = make_client()
        return self._client

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
