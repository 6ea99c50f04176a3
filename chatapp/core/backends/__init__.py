"""Model backends: the contract (base), the pool that makes and shares them (pool), and one
module per kind (llama_local, openai_http, ollama_http)."""

from __future__ import annotations

from chatapp.core.backends.pool import ModelPool, make_backend

__all__ = ["ModelPool", "make_backend"]
