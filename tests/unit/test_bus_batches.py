"""PutEvents takes at most 10 entries and 256 KB a call: the publisher's batches respect both and
keep the events' order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.bus import BATCH, REQUEST_BYTES, batches, entry_size


def entry(detail_bytes: int, n: int) -> dict[str, str]:
    return {
        "Source": "chat",
        "DetailType": "message.created",
        "Detail": "x" * detail_bytes + f"{n:04d}",
        "EventBusName": "b",
    }


def test_eight_of_the_largest_messages_take_two_calls_not_one() -> None:
    largest = [entry(37_000, n) for n in range(8)]

    split = list(batches(largest))

    assert [len(b) for b in split] == [7, 1]
    assert all(sum(entry_size(e) for e in b) <= REQUEST_BYTES for b in split)


@given(st.lists(st.integers(min_value=0, max_value=60_000), max_size=40))
def test_every_batch_fits_one_call_and_together_they_are_the_entries_in_order(
    sizes: list[int],
) -> None:
    entries = [entry(size, n) for n, size in enumerate(sizes)]

    split = list(batches(entries))

    assert [e for b in split for e in b] == entries
    for b in split:
        assert 1 <= len(b) <= BATCH
        assert sum(entry_size(e) for e in b) <= REQUEST_BYTES
