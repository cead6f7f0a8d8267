"""The local stage's POST-policy checks, on the rules S3 applies."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from local.s3_post import PolicyRefused, check_policy


def form(conditions: list[object], expiration: str = "2030-01-01T00:00:00Z") -> dict[str, str]:
    policy = {"expiration": expiration, "conditions": conditions}
    return {
        "policy": base64.b64encode(json.dumps(policy).encode()).decode(),
        "key": "rooms/r1/f1",
        "Content-Type": "image/png",
    }


def test_a_form_within_its_policy_passes() -> None:
    fields = form([{"bucket": "files"}, {"key": "rooms/r1/f1"}, ["content-length-range", 1, 10]])

    check_policy(fields, "files", 10, now=datetime(2029, 1, 1, tzinfo=UTC))


def test_an_expired_policy_is_refused() -> None:
    with pytest.raises(PolicyRefused, match="expired"):
        check_policy(form([], "2020-01-01T00:00:00Z"), "files", 1)


@pytest.mark.parametrize(
    ("conditions", "bucket", "size", "code"),
    [
        ([{"bucket": "files"}], "other", 1, "AccessDenied"),
        ([["starts-with", "$key", "rooms/r2/"]], "files", 1, "AccessDenied"),
        ([["eq", "$Content-Type", "video/mp4"]], "files", 1, "AccessDenied"),
        ([["content-length-range", 1, 10]], "files", 0, "EntityTooSmall"),
        ([["content-length-range", 1, 10]], "files", 11, "EntityTooLarge"),
    ],
)
def test_a_form_breaking_a_condition_is_refused(
    conditions: list[object], bucket: str, size: int, code: str
) -> None:
    with pytest.raises(PolicyRefused) as refused:
        check_policy(form(conditions), bucket, size, now=datetime(2029, 1, 1, tzinfo=UTC))

    assert refused.value.code == code
