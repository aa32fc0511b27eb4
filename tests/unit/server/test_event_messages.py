"""The ``/api/events`` framing, byte for byte."""

from __future__ import annotations

from llamaswap.server.event_messages import log_data, message


def test_a_message_is_framed_as_llama_swap_writes_it() -> None:
    got = message("profileChanged", {"active": None})
    want = b'event:message\ndata:{"type":"profileChanged","data":"{\\"active\\":null}"}\n\n'
    assert got == want


def test_log_data_keeps_text_and_replaces_invalid_utf8() -> None:
    got = log_data("upstream", b"a<b \xff\n")
    want = (
        b'event:message\ndata:{"type":"logData","data":'
        b'"{\\"source\\":\\"upstream\\",\\"data\\":\\"a\\\\u003cb \xef\xbf\xbd\\\\n\\"}"}\n\n'
    )
    assert got == want
