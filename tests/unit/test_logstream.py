"""Splitting Docker's multiplexed log frames in bulk."""

from __future__ import annotations

from console.containers.logstream import HEADER, dechunk, demux


def frame(kind: int, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def test_complete_and_partial_frames() -> None:
    data = frame(1, b"hello\n") + frame(2, b"err\n") + frame(1, b"tail")[:-2]
    payload, rest = demux(bytearray(data))
    assert payload == b"hello\nerr\n" and bytes(rest) == frame(1, b"tail")[:-2]
    payload, rest = demux(rest + b"il")
    assert payload == b"tail" and rest == bytearray()


def test_header_split_and_empty_payload() -> None:
    data = frame(1, b"") + frame(1, b"x")
    payload, rest = demux(bytearray(data[:5]))
    assert payload == b"" and len(rest) == 5
    payload, rest = demux(bytearray(data))
    assert payload == b"x" and not rest


def test_dechunk_in_bulk() -> None:
    body = b"6\r\nhello\n\r\n4;ext=1\r\nerr\n\r\n3\r\nab"
    data, rest, ended = dechunk(bytearray(body))
    assert data == b"hello\nerr\n" and bytes(rest) == b"3\r\nab" and not ended
    data, rest, ended = dechunk(rest + b"c\r\n0\r\n\r\n")
    assert data == b"abc" and ended
