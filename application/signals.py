"""Ephemeral signals: checked like commands, put on the bus, never written to the log."""

from __future__ import annotations

import msgspec

from application.ports import EventStore, Signals
from application.queries import room_for_member
from domain.commands import Typing


class TypingSignal(msgspec.Struct, frozen=True, tag_field="type", tag="typing"):
    """Someone is typing in a room: its other members' clients show it for a few seconds."""

    room_id: str
    user_id: str


def signal_typing(store: EventStore, signals: Signals, user_id: str, typing: Typing) -> None:
    """Members only: the room's other members see that `user_id` is typing."""
    room_for_member(store, typing.room_id, user_id)
    detail = msgspec.to_builtins(TypingSignal(typing.room_id, user_id))
    signals.signal(detail.pop("type"), detail)
