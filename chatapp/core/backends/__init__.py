"""Model backends: the contract (base), the pool that makes and shares them (pool), one
module per kind (llama_local, openai_http, ollama_http) and what they share (llama_file,
llama_thread; http, exchange, framing, sse), and whether each model can be used now
(reachability)."""

from __future__ import annotations

from chatapp.core.backends.pool import ModelPool, make_backend

__all__ = ["ModelPool", "make_backend"]
