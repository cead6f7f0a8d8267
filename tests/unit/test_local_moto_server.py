"""The moto patches name what they replace, and refuse, before patching anything and in one
message, a moto that no longer has it."""

from __future__ import annotations

import jsonpath_ng.ext
import moto.core.responses
import pytest
from moto import backends
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.sqs.models import SQSBackend

from local import moto_server
from local.moto_server import MotoChanged, check, missing, targets


class StandIn:
    """A moto class as a later version might have it: `query` kept, `all_items` gone."""

    def query(self) -> None:
        return None


def test_the_installed_moto_has_everything_the_patches_replace_or_call() -> None:
    assert missing(targets()) == []
    check(targets())


def test_every_attribute_the_patches_replace_is_checked() -> None:
    checked = {(owner, attribute) for owner, attribute in targets()}

    assert len(moto_server.PATCHES) == 25
    for owner, attribute in [
        (DynamoDBBackend, "transact_write_items"),
        (DynamoDBBackend, "put_item"),
        *((DynamoDBBackend, name) for name in ("update_item", "delete_item", "get_item")),
        (DynamoDBBackend, "query"),
        (DynamoDBBackend, "scan"),
        (Table, "query"),
        (Table, "all_items"),
        (UpdateExpressionParser, "make"),
        (DynamoHandler, "transact_get_items"),
        (DynamoDBStreamsBackend, "get_records"),
        (BaseJSONSerializer, "_serialize_type_structure"),
        (backends, "list_of_moto_modules"),
        (moto.core.responses, "method_names_from_class"),
        (jsonpath_ng.ext, "parse"),
        (SQSBackend, "receive_message"),
        (SQSBackend, "get_queue"),
    ]:
        assert (owner, attribute) in checked


def test_a_missing_attribute_is_named_with_the_version_the_patches_were_written_for() -> None:
    wanted = [(StandIn, "query"), (StandIn, "all_items"), (moto_server, "no_such_function")]

    assert missing(wanted) == [
        f"{__name__}.StandIn.all_items",
        "local.moto_server.no_such_function",
    ]
    with pytest.raises(MotoChanged) as changed:
        check(wanted)
    message = str(changed.value)
    assert "StandIn.all_items" in message and "no_such_function" in message
    assert "StandIn.query" not in message
    assert f"moto {moto_server.MOTO_WRITTEN_FOR}.x" in message


def test_nothing_is_patched_when_anything_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    before = {(owner, name): getattr(owner, name) for owner, name in targets()}
    broken = (*moto_server.PATCHES, (StandIn, "all_items", lambda own: own))
    monkeypatch.setattr(moto_server, "PATCHES", broken)

    with pytest.raises(MotoChanged, match=r"StandIn\.all_items"):
        moto_server.install()

    assert {(owner, name): getattr(owner, name) for owner, name in targets()} == before
