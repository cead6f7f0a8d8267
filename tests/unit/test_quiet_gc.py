"""The local stage's processes freeze what survives, so full collections skip it; garbage frozen
meanwhile is still reclaimed by the periodic full collection."""

from __future__ import annotations

import gc
import weakref

from local.quiet_gc import settle


class Node:
    def __init__(self) -> None:
        self.itself = self  # a cycle: only the collector can reclaim it


def test_frozen_objects_are_skipped_until_the_next_full_settle_reclaims_frozen_garbage() -> None:
    node = Node()
    alive = weakref.ref(node)
    try:
        settle(full=False)
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert alive() is not None  # frozen: a full collection does not walk it

        settle(full=True)

        assert alive() is None
    finally:
        gc.unfreeze()


def test_young_garbage_is_collected_before_the_survivors_are_frozen() -> None:
    node = Node()
    young = weakref.ref(node)
    del node
    try:
        settle(full=False)

        assert young() is None
    finally:
        gc.unfreeze()
