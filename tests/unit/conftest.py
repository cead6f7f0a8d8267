"""Fixtures of the unit tests: a chat service over an in-memory log, deterministic throughout."""

from __future__ import annotations

import pytest

from application.memory import InMemoryEventStore
from application.service import ChatService
from tests.unit.support import make_service, memory


@pytest.fixture
def chat() -> ChatService:
    return make_service()


@pytest.fixture
def store(chat: ChatService) -> InMemoryEventStore:
    return memory(chat)


@pytest.fixture
def room(chat: ChatService) -> str:
    """A group room of alice, bob and carol (alice created it)."""
    return chat.create_room("alice", "general", ("bob", "carol")).room_id
