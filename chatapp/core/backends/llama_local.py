"""In-process llama-cpp-python backend: one model's replies, generated on its file's
llama thread."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from chatapp.core.backends.base import (
    BackendError,
    ChatMessage,
    Chunk,
    ContextOverflow,
    GenerationParams,
    ModelInfo,
    Usage,
)
from chatapp.core.backends.llama_file import LlamaFile, bundled_model_path
from chatapp.core.backends.llama_thread import ReplyChannel
from chatapp.core.prompt_tokens import counter_for
from chatapp.core.text import first_line

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_types import CreateChatCompletionStreamResponse

    from chatapp.config import ModelConfig


class LlamaBackend:
    """A GGUF model run in-process by llama-cpp-python.

    The model loads once (``await prepare()``, ``load()`` in a worker thread, or on first
    use) and serves every turn, so llama.cpp reuses the KV cache of the prompt prefix that
    did not change; it reloads only to grow its window, when a conversation outgrows the
    one it has (LlamaFile.fit). One generation runs at a time on the file's one thread,
    handing text to the event loop in batches.

    Given a LlamaFile, the backend shares it with the other models on that file and leaves
    freeing it to whoever made it (the pool); without one it has a file of its own.
    """

    def __init__(self, config: ModelConfig, file: LlamaFile | None = None) -> None:
        self.config = config
        self.name = config.name or "llama"
        # The prompt budget of this model, even when the shared Llama has room for more.
        self.n_ctx = config.n_ctx
        self._owns_file = file is None
        self._file = file or LlamaFile.for_models([config])
        self.n_threads = self._file.n_threads
        self._active: set[ReplyChannel] = set()

    @property
    def model_path(self) -> Path:
        return self.config.path if self.config.path is not None else bundled_model_path()

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (the same as ready, by the name tests use)."""
        return self._file.loaded

    @property
    def ready(self) -> bool:
        """True once the model is loaded: until then a reply waits for the load."""
        return self._file.loaded

    @property
    def llama(self) -> Llama:
        """The llama_cpp.Llama serving every call (loads it if needed)."""
        return self._file.ensure_loaded(self.name).llama

    async def prepare(self) -> None:
        """Load the model without blocking the event loop; raises ModelFileError for a bad
        file, ModelLoadFailed when llama.cpp cannot load it."""
        if self.ready:
            return
        # On the llama thread, where every llama.cpp call of this file runs; through
        # load() so that whatever wraps load() (a test holding it back) applies here too.
        await asyncio.wrap_future(self._file.thread.submit(self.load))

    def load(self) -> None:
        """Load the model now; blocking (~0.2 s for the bundled one), so call it in a thread."""
        self._file.model(self.name)

    def count_tokens(self, messages: list[ChatMessage]) -> int:
        """Prompt size in tokens as the model will see it: chat template, then tokenizer.
        Any thread: tokenizing reads only the vocabulary, which decoding leaves alone."""
        with self._file.counting:
            return self._file.model(self.name).count_prompt_tokens(messages)

    def reserve(self, tokens: int) -> None:
        """Grow the window for a prompt and reply of tokens on the llama thread, after any
        reply in progress, if the model is loaded (a long conversation just opened: the
        reload would otherwise come with its first Enter)."""
        if self._file.loaded:
            self._file.thread.submit(self._fit, tokens)

    def _fit(self, tokens: int) -> None:
        with self._file.generation_lock:
            if self._file.loaded:
                self._file.fit(self.name, min(tokens, self.n_ctx))

    async def stream(
        self, messages: list[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[Chunk, None]:
        channel = ReplyChannel(asyncio.get_running_loop())
        job = (list(messages), params, channel, time.perf_counter())
        self._file.thread.submit(self._generate, *job)
        self._active.add(channel)
        try:
            while True:
                batch = await channel.get()
                text = "".join(item for item in batch if isinstance(item, str))
                if text:
                    yield Chunk(text)
                last = batch[-1]
                if isinstance(last, BaseException):
                    raise last
                if isinstance(last, Chunk):
                    yield last
                    return
        finally:
            # Reached on the last chunk, on aclose() and on task cancellation alike: stop
            # the thread and wait for it, so no generation keeps holding the model.
            channel.cancelled.set()
            await asyncio.shield(channel.finished)
            self._active.discard(channel)

    async def list_models(self) -> list[ModelInfo]:
        details = {
            "path": str(self.model_path),
            "bundled": self.config.path is None,
            "n_threads": self.n_threads,
        }
        return [ModelInfo(self.name, "llama", self.n_ctx, details=details)]

    async def aclose(self) -> None:
        """Stop this backend's generations; free the model if the file is its own."""
        for channel in list(self._active):
            channel.cancelled.set()
        if self._owns_file:
            await asyncio.to_thread(self._file.unload)

    def _generate(
        self,
        messages: list[ChatMessage],
        params: GenerationParams,
        channel: ReplyChannel,
        started: float,
    ) -> None:
        """The llama thread: load, check the prompt fits, decode; always ends the channel."""
        try:
            with self._file.generation_lock:
                if channel.cancelled.is_set():
                    # Stopped while waiting for the previous reply to wind down.
                    return
                loaded = self._file.ensure_loaded(self.name)
                # Counted already when the prompt was built (about 15 ms for a full
                # window of 6,000 tokens when counted again here, before the first token).
                prompt_tokens = counter_for(self).known(messages)
                if prompt_tokens is None:
                    prompt_tokens = loaded.count_prompt_tokens(messages)
                if prompt_tokens + 1 > self.n_ctx:
                    raise ContextOverflow(prompt_tokens, self.n_ctx)
                # A shared Llama may have a larger window than this model: stop where this
                # model's own window ends, as a Llama of its own size would.
                room = min(params.max_tokens, self.n_ctx - prompt_tokens)
                params = dataclasses.replace(params, max_tokens=room)
                loaded = self._file.fit(self.name, prompt_tokens + room)
                final = _decode(loaded.llama, messages, params, prompt_tokens, channel, started)
            channel.put(final)
        except BackendError as error:
            channel.put(error)
        except Exception as error:
            # llama.cpp failing mid-reply (a decode error, a template error) is shown,
            # with whatever text already arrived, rather than killing the thread silently.
            channel.put(BackendError(f"the local model failed: {first_line(error)}"))
        finally:
            channel.close()


def _decode(
    llama: Llama,
    messages: list[ChatMessage],
    params: GenerationParams,
    prompt_tokens: int,
    channel: ReplyChannel,
    started: float,
) -> Chunk:
    """Run create_chat_completion, passing text on; returns the final chunk with usage."""
    # With stream=True the result is always the generator, never the whole response.
    pieces = cast(
        "Generator[CreateChatCompletionStreamResponse, None, None]",
        llama.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            **_sampling(params),
        ),
    )
    completion_tokens = 0
    first = last = None
    finish_reason = "stop"
    try:
        # llama.cpp streams one piece per sampled token (it merges a few only to hold back
        # a partial stop string or UTF-8 sequence), so this checks cancellation per token.
        for piece in pieces:
            if channel.cancelled.is_set():
                finish_reason = "cancelled"
                break
            choice = piece["choices"][0]
            text = choice["delta"].get("content")
            if isinstance(text, str) and text:
                last = time.perf_counter()
                first = first or last
                completion_tokens += 1
                channel.put(text)
            finish_reason = choice["finish_reason"] or finish_reason
    finally:
        # Ends llama's generator now rather than at garbage collection, so the next turn
        # finds the model free and its KV cache holding this turn's tokens.
        pieces.close()
    usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        time_to_first_token=(first - started) if first else None,
        generation_seconds=(last - first) if first and last else None,
    )
    return Chunk(finish_reason=finish_reason, usage=usage)


def _sampling(params: GenerationParams) -> dict[str, Any]:
    """create_chat_completion keyword arguments for the params that were set."""
    options: dict[str, Any] = {
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": params.top_k,
        "repeat_penalty": params.repeat_penalty,
        # Without a seed llama-cpp-python derives one from a fixed start, so the first
        # reply after every launch would be the same; a fresh one makes replies vary.
        "seed": params.seed if params.seed is not None else random.randrange(2**31),
        "stop": list(params.stop) or None,
    }
    return {name: value for name, value in options.items() if value is not None}
