"""The local stage's saved log: changes appended as they happen, read back as the table was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local.persistence import EVENTS_FILE, LocalState


def insert(pk: str, sk: int = 1, **attributes: str) -> dict[str, Any]:
    image = {"pk": {"S": pk}, "sk": {"N": str(sk)}, **{k: {"S": v} for k, v in attributes.items()}}
    return {"eventName": "INSERT", "dynamodb": {"NewImage": image}}


def remove(pk: str, sk: int = 1) -> dict[str, Any]:
    return {"eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"N": str(sk)}}}}


def test_later_changes_replace_and_remove_earlier_ones(tmp_path: Path) -> None:
    state = LocalState(tmp_path)

    state.append_changes([insert("a", text="one"), insert("b"), insert("c")])
    state.append_changes([insert("a", text="two"), remove("b")])

    saved = {item["pk"]["S"]: item for item in state.saved_items()}
    assert sorted(saved) == ["a", "c"] and saved["a"]["text"] == {"S": "two"}


def test_a_line_cut_short_by_a_kill_costs_only_itself(tmp_path: Path) -> None:
    state = LocalState(tmp_path)
    state.append_changes([insert("kept")])
    with (tmp_path / EVENTS_FILE).open("a") as saved:
        saved.write('{"pk": {"S": "torn"}, "sk"')  # the process died mid-write

    next_run = LocalState(tmp_path)
    next_run.append_changes([insert("after")])

    assert sorted(item["pk"]["S"] for item in next_run.saved_items()) == ["after", "kept"]
