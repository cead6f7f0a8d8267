"""Fan-out: who gets a chat event, and what happens to closed and failing connections."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable

from application.fanout import Gone, fan_out, recipients

MEMBERS = {"r1": ["alice", "bob", "carol"]}


def members(room_id: str) -> list[str]:
    return MEMBERS.get(room_id, [])


class Connections:
    def __init__(self, by_user: dict[str, list[str]]) -> None:
        self.by_user = {user: list(conns) for user, conns in by_user.items()}

    def of_user(self, user_id: str) -> list[str]:
        return list(self.by_user.get(user_id, []))

    def of_users(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        return {user: self.of_user(user) for user in user_ids if self.by_user.get(user)}

    def remove(self, user_id: str, connection_id: str) -> None:
        self.by_user[user_id].remove(connection_id)


class Poster:
    def __init__(
        self, gone: frozenset[str] = frozenset(), broken: frozenset[str] = frozenset()
    ) -> None:
        self.gone, self.broken = gone, broken
        self.sent: dict[str, list[dict[str, object]]] = {}
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0

    def post(self, connection_id: str, data: bytes) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.002)
        with self.lock:
            self.in_flight -= 1
        if connection_id in self.gone:
            raise Gone(connection_id)
        if connection_id in self.broken:
            raise ConnectionError("throttled")
        with self.lock:
            self.sent.setdefault(connection_id, []).append(json.loads(data))


def test_a_room_event_goes_to_every_tab_of_every_member_and_nobody_else() -> None:
    connections = Connections(
        {"alice": ["a1", "a2"], "bob": ["b1"], "carol": [], "mallory": ["m1"]}
    )
    poster = Poster()
    detail = {"room_id": "r1", "seq": 5, "type": "message.created", "data": {"text": "hi"}}

    delivery = fan_out(
        {"type": "message.created", **detail},
        recipients("message.created", detail, members),
        connections,
        poster,
    )

    assert delivery.sent == 3
    assert sorted(poster.sent) == ["a1", "a2", "b1"]
    assert poster.sent["b1"] == [{"type": "message.created", **detail}]


def test_a_closed_connection_is_forgotten_and_the_others_still_get_the_event() -> None:
    connections = Connections({"alice": ["a1", "a2"], "bob": ["b1"]})
    poster = Poster(gone=frozenset({"a1"}))

    delivery = fan_out({"type": "x"}, {"alice", "bob"}, connections, poster)

    assert delivery.forgotten == ["a1"] and delivery.failed == []
    assert connections.of_user("alice") == ["a2"]
    assert sorted(poster.sent) == ["a2", "b1"]


def test_a_failing_connection_is_reported_and_kept() -> None:
    connections = Connections({"alice": ["a1"], "bob": ["b1"]})

    delivery = fan_out(
        {"type": "x"}, {"alice", "bob"}, connections, Poster(broken=frozenset({"b1"}))
    )

    assert delivery.failed == ["b1"] and connections.of_user("bob") == ["b1"]


def test_posts_run_in_parallel_but_never_more_than_the_bound() -> None:
    connections = Connections({f"user{i}": [f"c{i}"] for i in range(40)})
    poster = Poster()

    fan_out({"type": "x"}, set(connections.by_user), connections, poster, parallel=4)

    assert len(poster.sent) == 40
    assert 1 < poster.most_in_flight <= 4


def test_typing_goes_to_everyone_in_the_room_but_the_typist() -> None:
    assert recipients("typing", {"room_id": "r1", "user_id": "bob"}, members) == {"alice", "carol"}


def test_a_leaver_hears_of_their_own_leaving() -> None:
    detail = {"room_id": "r1", "data": {"user_id": "dave"}}

    assert recipients("user.left", detail, members) == {"alice", "bob", "carol", "dave"}


def test_a_read_marker_goes_only_to_its_readers_other_tabs() -> None:
    assert recipients("read.marked", {"room_id": "r1", "user_id": "bob"}, members) == {"bob"}
