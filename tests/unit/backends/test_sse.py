"""The SSE parser against the event-stream rules servers actually exercise."""

from __future__ import annotations

from chatapp.core.backends.sse import ServerSentEvent, SSEParser


def parse(*reads: bytes) -> list[ServerSentEvent]:
    parser = SSEParser()
    events = [event for read in reads for event in parser.feed(read)]
    return events + parser.finish()


def test_one_event_per_blank_line() -> None:
    events = parse(b"data: a\n\ndata: b\n\n")
    assert [event.data for event in events] == ["a", "b"]
    assert all(event.event == "message" for event in events)


def test_an_event_split_across_reads_is_whole() -> None:
    stream = b'data: {"text": "hello"}\n\ndata: [DONE]\n\n'
    for cut in range(1, len(stream)):
        events = parse(stream[:cut], stream[cut:])
        assert [event.data for event in events] == ['{"text": "hello"}', "[DONE]"], cut


def test_byte_by_byte_with_multibyte_characters() -> None:
    stream = "data: héllo → 世界\n\n".encode()
    events = parse(*(stream[i : i + 1] for i in range(len(stream))))
    assert [event.data for event in events] == ["héllo → 世界"]


def test_crlf_and_bare_cr_line_ends() -> None:
    assert [e.data for e in parse(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n")] == ["a", "b", "c"]


def test_crlf_split_between_reads_is_one_line_end() -> None:
    # If the LF after a CR in the previous read counted as a second line end, the blank
    # line would dispatch "a" alone and "b" would become a separate event.
    events = parse(b"data: a\r", b"\ndata: b\r\n\r\n")
    assert [event.data for event in events] == ["a\nb"]


def test_comments_are_ignored() -> None:
    events = parse(b": ping\n\n:another\ndata: x\n: between\n\n")
    assert [event.data for event in events] == ["x"]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert parse(b"data: one\ndata:two\ndata:  three\n\n")[0].data == "one\ntwo\n three"


def test_event_and_id_fields() -> None:
    events = parse(b"event: error\nid: 7\ndata: boom\n\ndata: next\n\n")
    assert (events[0].event, events[0].id, events[0].data) == ("error", "7", "boom")
    # The event type resets after each event; the last event id carries on.
    assert (events[1].event, events[1].id) == ("message", "7")


def test_retry_is_kept_on_the_parser() -> None:
    parser = SSEParser()
    parser.feed(b"retry: 3000\n\n")
    assert parser.retry == 3000


def test_event_without_data_is_not_dispatched() -> None:
    assert parse(b"event: ping\n\nid: 1\n\n") == []


def test_field_without_colon_and_unknown_fields() -> None:
    assert [e.data for e in parse(b"data\n\nfoo: bar\ndata: x\n\n")] == ["", "x"]


def test_end_of_stream_without_trailing_blank_line() -> None:
    assert [e.data for e in parse(b"data: a\n\ndata: [DONE]\n")] == ["a", "[DONE]"]
    assert [e.data for e in parse(b"data: a\n\ndata: [DONE]")] == ["a", "[DONE]"]


def test_leading_bom_is_skipped() -> None:
    assert parse(b"\xef\xbb\xbfdata: a\n\n")[0].data == "a"
