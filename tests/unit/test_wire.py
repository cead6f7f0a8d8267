"""HTTP bodies and WebSocket frames decode straight into the domain's commands, and refuse what a
client may not say."""

from __future__ import annotations

import pytest

from application.wire import FrameDecoder, InvalidJson, decode
from domain.commands import CreateRoom, Edit, Leave, MarkRead, Send, Typing
from domain.errors import InvalidInput


def test_a_body_and_its_path_make_one_command() -> None:
    edit = decode('{"text": "fixed", "client_id": "c1"}', Edit, {"room_id": "r1", "seq": "7"})

    assert edit == Edit("r1", 7, "fixed", "c1")


def test_a_route_without_a_body_takes_everything_from_its_path() -> None:
    assert decode(None, Leave, {"room_id": "r1"}) == Leave("r1")


def test_a_new_room_gets_its_id_from_the_server_never_from_the_client() -> None:
    assert decode('{"name": "General"}', CreateRoom) == CreateRoom("", "General")
    with pytest.raises(InvalidInput, match="room_id"):
        decode('{"name": "General", "room_id": "dm-squatted"}', CreateRoom)


def test_a_body_may_not_contradict_its_path() -> None:
    with pytest.raises(InvalidInput, match="room_id"):
        decode('{"room_id": "elsewhere", "seq": 3}', MarkRead, {"room_id": "r1"})


def test_a_body_names_no_action_since_its_route_says_what_it_is() -> None:
    with pytest.raises(InvalidInput, match="action"):
        decode('{"action": "send", "text": "hi"}', Send, {"room_id": "r1"})


@pytest.mark.parametrize("seq", ["x", "1.5", "1e3", ""])
def test_a_seq_in_the_path_is_a_whole_number(seq: str) -> None:
    with pytest.raises(InvalidInput, match="whole number"):
        decode('{"text": "t"}', Edit, {"room_id": "r1", "seq": seq})


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("{not json", InvalidJson),
        ("[1, 2]", InvalidInput),
        ('"text"', InvalidInput),
        ('{"text": 5}', InvalidInput),
        ('{"text": "hi", "colour": "red"}', InvalidInput),
        ("[" * 20_000 + "]" * 20_000, InvalidJson),  # deeper than any decoder recurses
    ],
    ids=["malformed", "array", "string", "wrong-type", "unknown-field", "nested-too-deep"],
)
def test_a_body_that_is_not_the_command_is_refused(raw: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode(raw, Send, {"room_id": "r1"})


FRAMES = FrameDecoder({"send": Send, "typing": Typing, "create_room": CreateRoom})


def test_a_frame_is_the_command_its_action_names() -> None:
    frame = FRAMES.decode('{"action": "send", "room_id": "r1", "text": "hi", "client_id": "c"}')

    assert frame == Send("r1", "hi", "c")
    assert FRAMES.decode('{"action": "typing", "room_id": "r1"}') == Typing("r1")


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        '{"action": "dance"}',
        '{"room_id": "r1", "text": "no action"}',
        '{"action": "send", "text": "no room"}',
        '{"action": "typing", "room_id": "r1", "extra": 1}',
        '{"action": "create_room", "room_id": "mine", "name": "n"}',
        '{"action": "send", "room_id": "r1", "text": "hi", "x": '
        + "[" * 16_000
        + "]" * 16_000
        + "}",
        "[" * 16_000 + "]" * 16_000,
    ],
)
def test_a_frame_that_is_no_known_command_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid frame"):
        FRAMES.decode(raw)
