"""Every way an OpenAI-compatible server can fail, as the user will read it."""

from __future__ import annotations

import contextlib

import pytest

from chatapp.core.backends.base import (
    APIKeyNotSet,
    AuthenticationFailed,
    BackendError,
    BackendTimeout,
    CannotConnect,
    ChatMessage,
    Chunk,
    ContextOverflow,
    GenerationParams,
    MalformedResponse,
    ModelNotFound,
    RateLimited,
    ServerError,
    StreamDropped,
)
from chatapp.core.backends.openai_http import OpenAIBackend
from chatapp.core.errors import ConfigError
from tests.fixtures.servers import (
    FAULT_TOKENS,
    KEY_ENV,
    RETRY_AFTER_DATE_SECONDS,
    SECRET_KEY,
    FaultServer,
    closed_port_url,
)

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "Say hello."}]
PARAMS = GenerationParams(max_tokens=16, temperature=0.0, seed=1)
PARTIAL = "".join(FAULT_TOKENS)


async def run(backend: OpenAIBackend) -> tuple[list[Chunk], BackendError | None]:
    """Everything the stream yielded, and the error it ended with, if any."""
    chunks: list[Chunk] = []
    try:
        async with contextlib.aclosing(backend.stream(MESSAGES, PARAMS)) as stream:
            async for chunk in stream:
                chunks.append(chunk)
    except BackendError as error:
        return chunks, error
    finally:
        await backend.aclose()
    return chunks, None


async def fail(fault_server: FaultServer, fault: str, **overrides: object) -> BackendError:
    _, error = await run(OpenAIBackend(fault_server.config(fault, **overrides)))
    assert error is not None, f"{fault} did not fail"
    assert SECRET_KEY not in str(error) and SECRET_KEY not in repr(error)
    return error


async def test_cannot_connect_names_the_url(fault_server: FaultServer) -> None:
    url = closed_port_url()
    error = await fail(fault_server, "ok", base_url=url)
    assert isinstance(error, CannotConnect)
    assert str(error).startswith(f"cannot connect to {url}")
    assert str(error).endswith("is the server running?")


@pytest.mark.parametrize("fault", ["unauthorized", "forbidden"])
async def test_rejected_key_points_at_the_env_var(fault_server: FaultServer, fault: str) -> None:
    error = await fail(fault_server, fault)
    assert isinstance(error, AuthenticationFailed)
    url = fault_server.base_url(fault)
    assert str(error) == f"the server at {url} rejected the API key; check {KEY_ENV}"


async def test_the_key_is_sent_as_bearer_only_when_set(fault_server: FaultServer) -> None:
    await run(OpenAIBackend(fault_server.config("ok")))
    assert fault_server.requests[-1].headers["authorization"] == f"Bearer {SECRET_KEY}"
    await run(OpenAIBackend(fault_server.config("ok", api_key=None, api_key_env=None)))
    assert "authorization" not in fault_server.requests[-1].headers


async def test_an_unset_key_is_named_before_any_request(fault_server: FaultServer) -> None:
    asked = len(fault_server.requests)
    error = await fail(fault_server, "ok", api_key=None)
    assert isinstance(error, APIKeyNotSet) and isinstance(error, ConfigError)
    assert str(error) == f"{KEY_ENV} is not set (api_key_env of model fault-ok)"
    assert len(fault_server.requests) == asked


async def test_a_key_read_with_its_newline_still_works(fault_server: FaultServer) -> None:
    _, error = await run(OpenAIBackend(fault_server.config("ok", api_key=SECRET_KEY + "\n")))
    assert error is None
    assert fault_server.requests[-1].headers["authorization"] == f"Bearer {SECRET_KEY}"


async def test_a_key_no_header_can_carry_is_reported(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "ok", api_key="sk-test-SECRET123–copied")
    assert type(error) is BackendError
    assert str(error) == f"the API key in {KEY_ENV} has characters an HTTP header cannot carry"


async def test_unknown_model(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "model-not-found", model="gpt-99")
    assert isinstance(error, ModelNotFound)
    assert str(error) == f"model 'gpt-99' not found at {fault_server.base_url('model-not-found')}"


async def test_wrong_path_is_not_a_missing_model(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "no-such-route")
    assert type(error) is BackendError
    assert "has no such endpoint (404); check base_url" in str(error)


async def test_rate_limit_says_how_long_to_wait(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "rate-limited")
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7
    assert str(error) == "rate limited by the server; retry in 7 s"


async def test_rate_limit_with_an_http_date(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "rate-limited-date")
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None
    assert RETRY_AFTER_DATE_SECONDS - 3 <= error.retry_after <= RETRY_AFTER_DATE_SECONDS
    assert f"retry in {error.retry_after:g} s" in str(error)


async def test_server_error_shows_status_and_detail_without_the_key(
    fault_server: FaultServer,
) -> None:
    error = await fail(fault_server, "server-error")
    assert isinstance(error, ServerError) and error.status == 500
    assert str(error) == "server error 500: CUDA out of memory (request had Bearer ***)"


async def test_bad_gateway_html_becomes_one_line(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "bad-gateway")
    assert isinstance(error, ServerError) and error.status == 502
    assert str(error) == "server error 502: 502 Bad Gateway nginx"


@pytest.mark.parametrize(
    ("fault", "prompt_tokens", "n_ctx"),
    [("context-llamacpp", 9412, 8192), ("context-openai", 5000, 4096)],
)
async def test_context_overflow_reports_the_numbers(
    fault_server: FaultServer, fault: str, prompt_tokens: int, n_ctx: int
) -> None:
    error = await fail(fault_server, fault)
    assert isinstance(error, ContextOverflow)
    assert (error.prompt_tokens, error.n_ctx) == (prompt_tokens, n_ctx)
    assert str(error) == (
        f"the prompt is too long: {prompt_tokens:,} tokens, more than the context window "
        f"of {n_ctx:,}"
    )


async def test_context_overflow_without_numbers_keeps_the_servers_words(
    fault_server: FaultServer,
) -> None:
    error = await fail(fault_server, "context-vague")
    assert type(error) is BackendError
    assert str(error) == "the server rejected the request: the prompt is too long for this model"


async def test_other_bad_request_is_one_line(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "bad-request")
    assert type(error) is BackendError
    assert str(error) == (
        "the server rejected the request (400): temperature must be between 0 and 2"
    )


@pytest.mark.parametrize("fault", ["drop", "drop-eof"])
async def test_stream_cut_midway_keeps_the_partial_reply(
    fault_server: FaultServer, fault: str
) -> None:
    chunks, error = await run(OpenAIBackend(fault_server.config(fault)))
    assert isinstance(error, StreamDropped)
    assert error.partial == PARTIAL == "".join(chunk.text for chunk in chunks)
    assert "stopped midway and is incomplete" in str(error)
    assert SECRET_KEY not in str(error) + repr(error)


async def test_done_without_a_finish_reason_ends_the_reply_normally(
    fault_server: FaultServer,
) -> None:
    chunks, error = await run(OpenAIBackend(fault_server.config("interrupted")))
    assert error is None
    assert "".join(chunk.text for chunk in chunks) == PARTIAL
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(FAULT_TOKENS)


async def test_no_answer_at_all_times_out(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "stall", timeout=0.5)
    assert isinstance(error, BackendTimeout)
    assert str(error) == f"no answer from {fault_server.base_url('stall')} after 0.5 s (timed out)"


async def test_headers_then_silence_times_out(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "stall-headers", timeout=0.5)
    assert isinstance(error, BackendTimeout)
    assert "after 0.5 s (timed out)" in str(error)


async def test_silence_midway_keeps_the_partial_reply(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "stall-midway", timeout=0.5)
    assert isinstance(error, StreamDropped)
    assert error.partial == PARTIAL
    assert str(error).endswith("stopped midway and is incomplete (no data for 0.5 s)")


async def test_malformed_json_in_a_data_line(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "malformed")
    assert isinstance(error, MalformedResponse)
    assert str(error).startswith("malformed response from the server: not JSON: {")


async def test_error_event_before_any_text(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "error-event")
    assert type(error) is BackendError
    assert str(error) == "the server reported an error: the model crashed"


async def test_error_event_midway_keeps_the_partial_reply(fault_server: FaultServer) -> None:
    error = await fail(fault_server, "error-event-midway")
    assert isinstance(error, StreamDropped)
    assert error.partial == PARTIAL
    assert str(error).endswith("incomplete (the model crashed)")


async def test_list_models_reports_the_same_errors(fault_server: FaultServer) -> None:
    cases: list[tuple[str, dict[str, object], type[BackendError], str]] = [
        ("unauthorized", {}, AuthenticationFailed, "rejected the API key"),
        ("no-such-route", {}, BackendError, "has no such endpoint (404); check base_url"),
        ("ok", {"base_url": closed_port_url()}, CannotConnect, "is the server running?"),
    ]
    for fault, overrides, kind, words in cases:
        backend = OpenAIBackend(fault_server.config(fault, **overrides))
        try:
            with pytest.raises(kind) as caught:
                await backend.list_models()
        finally:
            await backend.aclose()
        assert words in str(caught.value)
