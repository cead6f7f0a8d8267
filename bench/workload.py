"""A realistic, deterministic event log, produced by the real rules.

`build_log(n, seed)` drives `ChatService` over `InMemoryEventStore` with a fixed clock, a seeded id
generator and a seeded `random.Random`, until the log holds exactly `n` events. Every event is the
result of a command the domain accepted (no hand-made envelopes), so the log has the shapes,
orderings and versions a production log would have:

- ~50 users; a few hundred group rooms (2-12 initial members, invites and leaves over time) and a
  couple of hundred DMs, with Zipf-like activity (a few busy rooms, a long tail of quiet ones);
- mostly sends: texts of 5-300 characters (log-normal, median ~45, some non-ASCII), some with
  attachments, most with a client id (as the UI sends them);
- edits and deletes of the author's own recent messages, read markers on the reader's stream.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from application.memory import InMemoryEventStore
from application.service import ChatService
from domain.events import Attachment, Envelope
from domain.ids import is_room_stream, room_stream
from domain.rooms import RoomState

START = 1_735_689_600.0  # 2025-01-01T00:00:00Z

WORDS = (  # noqa: SIM905 - a word list reads better as text
    "the a to and of in is it you that for on we this be are with have not at can do so "
    "but just what if all will my your me about was one get they up out like know think "
    "meeting deploy build release ticket review merge branch fix bug test prod staging "
    "tomorrow today later lunch coffee call sync standup demo slides doc draft plan "
    "customer invoice budget report numbers chart dashboard latency error timeout retry "
    "thanks sure ok great yes no maybe sounds good agreed done looking checking pushed "
    "weekend holiday flight hotel train traffic rain sunny morning evening tonight"
).split()
EXTRAS = ("🙂", "👍", "🎉", "😂", "🚀", "café", "naïve", "über", "señor", "déjà vu", "→", "…")
NAMES = (  # noqa: SIM905
    "general random engineering design ops support sales marketing infra backend frontend "
    "mobile data ml security billing growth hiring offsite book-club coffee music running "
    "games movies travel food pets announcements incidents releases oncall"
).split()
FILES = (
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("application/pdf", "pdf"),
    ("text/plain", "txt"),
    ("video/mp4", "mp4"),
)


class Clock:
    """Millisecond ISO timestamps that advance by a random, mostly small step per call."""

    def __init__(self, rng: random.Random, mean_step: float = 12.0) -> None:
        self.rng = rng
        self.now = START
        self.mean_step = mean_step

    def __call__(self) -> str:
        self.now += self.rng.expovariate(1 / self.mean_step)
        ms = int(self.now * 1000)
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
        return f"{seconds}.{ms % 1000:03d}Z"


class Ids:
    """Ids shaped like `application.service.new_id` (24 base32 chars), from a seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return base64.b32encode(self.rng.randbytes(15)).decode().lower()


@dataclass
class Room:
    room_id: str
    kind: str
    members: list[str]
    # Recent messages still alive, newest last: (seq, author).
    recent: list[tuple[int, str]] = field(default_factory=list)


class Workload:
    def __init__(self, seed: int = 1, users: int = 50, groups: int = 300, dms: int = 200) -> None:
        self.rng = random.Random(seed)
        self.ids = Ids(random.Random(seed + 1))
        self.store = InMemoryEventStore()
        self.service = ChatService(
            self.store, clock=Clock(random.Random(seed + 2)), ids=self.ids, sleep=lambda _: None
        )
        self.users = [f"u-{self.ids()[:10]}" for _ in range(users)]
        self.max_groups, self.max_dms = groups, dms
        self.rooms: list[Room] = []
        self.dm_pairs: set[tuple[str, str]] = set()
        self.cumulative: list[float] = []
        self.client_ids = itertools.count(1)
        self.refused = 0

    # --- helpers ----------------------------------------------------------------------------

    def _events(self) -> int:
        return len(self.store.appended)

    def _add_room(self, room: Room) -> None:
        # Zipf-like activity: the k-th room gets weight 1/k^0.9, shuffled by creation order.
        self.rooms.append(room)
        weight = 1 / (1 + self.rng.randrange(len(self.rooms) + 20)) ** 0.9
        total = self.cumulative[-1] if self.cumulative else 0.0
        self.cumulative.append(total + weight)

    def _pick_room(self) -> Room:
        x = self.rng.random() * self.cumulative[-1]
        return self.rooms[bisect.bisect_right(self.cumulative, x)]

    def _head(self, room: Room) -> RoomState:
        head = self.store.heads[room_stream(room.room_id)]
        assert isinstance(head, RoomState)
        return head

    def _text(self) -> str:
        rng = self.rng
        target = min(300, max(5, int(rng.lognormvariate(math.log(45), 0.8))))
        words: list[str] = []
        size = 0
        while size < target:
            word = rng.choice(EXTRAS) if rng.random() < 0.02 else rng.choice(WORDS)
            words.append(word)
            size += len(word) + 1
        text = " ".join(words)[:target].strip()
        if len(text) < 5:
            text = (text + " okay").strip()
        return text[0].upper() + text[1:] + rng.choice((".", "", "", "!", "?"))

    def _attachments(self, room_id: str) -> tuple[Attachment, ...]:
        rng = self.rng
        out = []
        for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 4)):
            content_type, ext = rng.choice(FILES)
            name = f"{rng.choice(WORDS)}-{rng.randrange(1000)}.{ext}"
            key = f"rooms/{room_id}/{self.ids()[:16]}/{name}"
            out.append(Attachment(key, name, content_type, rng.randint(200, 8_000_000)))
        return tuple(out)

    # --- commands ---------------------------------------------------------------------------

    def create_group(self) -> None:
        rng = self.rng
        actor = rng.choice(self.users)
        others = rng.sample([u for u in self.users if u != actor], rng.randint(1, 11))
        name = f"{rng.choice(NAMES)}-{rng.randrange(100)}"
        outcome = self.service.create_room(actor, name, tuple(others))
        self._add_room(Room(outcome.room_id, "group", [actor, *others]))

    def open_dm(self) -> None:
        a, b = sorted(self.rng.sample(self.users, 2))
        if (a, b) in self.dm_pairs:
            return
        self.dm_pairs.add((a, b))
        outcome = self.service.open_dm(a, b)
        self._add_room(Room(outcome.room_id, "dm", [a, b]))

    def send(self, room: Room) -> None:
        rng = self.rng
        actor = rng.choice(room.members)
        attachments = self._attachments(room.room_id) if rng.random() < 0.03 else ()
        text = "" if attachments and rng.random() < 0.3 else self._text()
        client_id = f"c-{next(self.client_ids):08d}" if rng.random() < 0.85 else ""
        outcome = self.service.send(actor, room.room_id, text, client_id, attachments)
        room.recent.append((outcome.seq, actor))
        if len(room.recent) > 12:
            del room.recent[0]

    def edit_or_delete(self, room: Room, delete: bool) -> None:
        if not room.recent:
            return self.send(room)
        index = len(room.recent) - 1 - min(int(self.rng.expovariate(0.6)), len(room.recent) - 1)
        seq, author = room.recent[index]
        if author not in room.members:
            return self.send(room)
        if delete:
            self.service.delete(author, room.room_id, seq)
            del room.recent[index]
        else:
            self.service.edit(author, room.room_id, seq, self._text())
        return None

    def mark_read(self, room: Room) -> None:
        actor = self.rng.choice(room.members)
        head = self._head(room).version
        seq = head if self.rng.random() < 0.85 else max(1, head - self.rng.randrange(1, 8))
        self.service.mark_read(actor, room.room_id, seq)

    def invite(self, room: Room) -> None:
        if room.kind == "dm":
            return self.send(room)
        outsiders = [u for u in self.users if u not in room.members]
        if not outsiders:
            return self.send(room)
        actor, user = self.rng.choice(room.members), self.rng.choice(outsiders)
        self.service.invite(actor, room.room_id, user)
        room.members.append(user)
        return None

    def leave(self, room: Room) -> None:
        if room.kind == "dm" or len(room.members) < 3:
            return self.send(room)
        actor = self.rng.choice(room.members)
        self.service.leave(actor, room.room_id)
        room.members.remove(actor)
        return None

    # --- the run ----------------------------------------------------------------------------

    def run(self, n: int) -> list[Envelope]:
        """Drive the service until the log holds exactly `n` events; the log in commit order."""
        rng = self.rng
        groups = dms = 0
        # Some rooms exist from the start; more are created as the log grows.
        while self._events() < n and groups < self.max_groups * 2 // 3:
            self.create_group()
            groups += 1
        while self._events() < n and dms < self.max_dms // 2:
            self.open_dm()
            dms += 1
        while self._events() < n:
            x = rng.random()
            if x < 0.002 and groups < self.max_groups:
                self.create_group()
                groups += 1
                continue
            if x < 0.004 and dms < self.max_dms:
                self.open_dm()
                dms += 1
                continue
            room = self._pick_room()
            if x < 0.78:
                self.send(room)
            elif x < 0.90:
                self.mark_read(room)
            elif x < 0.945:
                self.edit_or_delete(room, delete=False)
            elif x < 0.96:
                self.edit_or_delete(room, delete=True)
            elif x < 0.985:
                self.invite(room)
            else:
                self.leave(room)
        log = self.store.appended
        assert len(log) == n, (len(log), n)
        return list(log)


def build_log(n: int, seed: int = 1) -> list[Envelope]:
    """`n` envelopes in commit order, produced by `ChatService` under fixed seeds."""
    return Workload(seed).run(n)


def describe(log: list[Envelope]) -> str:
    counts = Counter(env.type for env in log)
    rooms = {env.stream for env in log if is_room_stream(env.stream)}
    users = {env.actor for env in log}
    parts = ", ".join(f"{t} {c / len(log):.1%}" for t, c in counts.most_common())
    return f"{len(rooms)} rooms, {len(users)} users; {parts}"
