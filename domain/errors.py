"""Typed domain errors: each carries a stable machine code and a human message."""

from __future__ import annotations

from typing import Self


class DomainError(Exception):
    """A command was refused by the chat rules. `code` is stable; `message` is for people."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class InvalidInput(DomainError):
    code = "invalid"


class TooLarge(DomainError):
    code = "too_large"


class RoomNotFound(DomainError):
    code = "room_not_found"

    @classmethod
    def to(cls, room_id: str) -> Self:
        return cls(f"there is no room {room_id} that you are in")


class MessageNotFound(DomainError):
    code = "message_not_found"


class NotAMember(RoomNotFound):
    """The room exists, but the actor is not in it. Told in the same words as a room that does
    not exist, so that nobody learns which rooms (or which people's direct messages) exist."""


class NotAuthor(DomainError):
    code = "not_author"


class MessageDeleted(DomainError):
    code = "message_deleted"


class AlreadyMember(DomainError):
    code = "already_member"


class RoomExists(DomainError):
    code = "room_exists"


class DirectMessageRule(DomainError):
    """A DM has exactly its two members: no invites, no leaving, no third party."""

    code = "dm_rule"


class RoomFull(DomainError):
    code = "room_full"


class RateLimited(DomainError):
    """The caller went over one of their rate limits (domain.rate_limits); nothing was done.
    The same request is admitted after `retry_after_ms`."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_ms: int, limit: str) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms
        self.limit = limit  # the budget's name (domain.rate_limits), so a client pauses only it
