"""However the network cuts a reply's bytes, the backends read the same reply.

Recorded streams (streams/README.md says where each came from) go through the real
HTTPBackend.stream loop, served by an httpx mock transport in pieces that hypothesis
chooses: cuts inside multi-byte UTF-8 characters and between CR and LF included.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatapp.config import ModelConfig
from chatapp.core.backends.base import BackendError, ChatMessage, GenerationParams
from chatapp.core.backends.ollama_http import OllamaBackend
from chatapp.core.backends.openai_http import OpenAIBackend

STREAMS = Path(__file__).parent / "streams"
QUESTION: list[ChatMessage] = [{"role": "user", "content": "?"}]


@dataclass(frozen=True)
class Reply:
    """What a reader of the stream ends up with; timings left out, they vary per run."""

    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    error: str | None = None


# The whole-stream reading of each file, so a change in what "whole" means shows too.
EXPECTED = {
    "llama_cpp_server_en.sse": Reply("The capital of France is Paris.", "stop", None, 7),
    "llama_cpp_server_zh.sse": Reply(
        # No usage from this server: the count is of the pieces that arrived, and it
        # sends a multi-byte character's tokens as one piece.
        "中国的首都是哪里？\n\n这就是一个美好诗子。你可以在本地化向量上添",
        "length",
        None,
        31,
    ),
    "quirky_zh.sse": Reply(
        "你好！我是一个小模型。北京是中国的首都，人口约两千万。", "stop", 23, 17
    ),
    "ollama_chat_zh.ndjson": Reply("天空是蓝色的，因为空气散射了阳光中的蓝光。 🌤", "stop", 31, 14),
}


class Pieces(httpx.AsyncByteStream):
    """A response body that arrives in the given pieces, one read each."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece


def backend_for(name: str, pieces: list[bytes]) -> OpenAIBackend | OllamaBackend:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Pieces(pieces))

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    if name.endswith(".ndjson"):
        config = ModelConfig(backend="ollama", base_url="http://ollama.test", model="m")
        return OllamaBackend(config, client)
    config = ModelConfig(backend="openai", base_url="http://server.test/v1")
    return OpenAIBackend(config, client)


async def read_reply(name: str, pieces: list[bytes]) -> Reply:
    backend = backend_for(name, pieces)
    texts: list[str] = []
    try:
        async for chunk in backend.stream(QUESTION, GenerationParams()):
            texts.append(chunk.text)
            if chunk.finish_reason is not None:
                usage = chunk.usage
                assert usage is not None
                return Reply(
                    "".join(texts),
                    chunk.finish_reason,
                    usage.prompt_tokens,
                    usage.completion_tokens,
                )
    except BackendError as error:
        return Reply("".join(texts), None, None, None, str(error))
    finally:
        await backend._client.aclose()  # made here, and a backend leaves a given client open
    raise AssertionError("the stream ended without a final chunk or an error")


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *cuts, len(data)]
    return [data[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]


def cut_points(data: bytes) -> st.SearchStrategy[list[int]]:
    """Sorted cut positions, drawn often where a naive reader would break."""
    anywhere = st.integers(1, len(data) - 1)
    tricky = [
        at
        for at in range(1, len(data))
        # Inside a UTF-8 sequence (before a continuation byte), or between CR and LF.
        if 0x80 <= data[at] < 0xC0 or data[at - 1 : at + 1] == b"\r\n"
    ]
    position = st.one_of(st.sampled_from(tricky), anywhere) if tricky else anywhere
    return st.lists(position, max_size=60, unique=True).map(sorted)


def recorded(name: str) -> bytes:
    return (STREAMS / name).read_bytes()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_whole_stream_reads_as_recorded(name: str) -> None:
    assert asyncio.run(read_reply(name, [recorded(name)])) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_one_byte_per_read_reads_the_same(name: str) -> None:
    data = recorded(name)
    pieces = [data[at : at + 1] for at in range(len(data))]
    assert asyncio.run(read_reply(name, pieces)) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_split_reads_the_same(name: str, data: st.DataObject) -> None:
    stream = recorded(name)
    cuts = data.draw(cut_points(stream), label="cuts")
    assert asyncio.run(read_reply(name, split(stream, cuts))) == EXPECTED[name]


def test_the_streams_hold_what_the_splits_must_survive() -> None:
    quirky, ndjson = recorded("quirky_zh.sse"), recorded("ollama_chat_zh.ndjson")
    assert b"\r\n" in quirky and b"\r\r" in quirky and quirky.endswith(b"}")
    assert any(0x80 <= byte < 0xC0 for byte in quirky + ndjson)
    assert "北京".encode() in quirky and "天空".encode() in ndjson
