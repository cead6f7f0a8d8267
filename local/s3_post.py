"""S3's browser-upload (POST policy) checks, which moto does not make: the local stage's upload
endpoint runs them before it stores the object in moto, and answers S3's own error codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any


class PolicyRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def xml(self) -> str:
        return f"<Error><Code>{self.code}</Code><Message>{self.message}</Message></Error>"


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def check_signature(fields: dict[str, str], secret: str) -> None:
    """SigV4 of a POST policy: the policy document, signed with the credential's scoped key."""
    try:
        credential = fields["x-amz-credential"]
        _, date, region, service, _ = credential.split("/")
        expected = hmac.new(
            _signing_key(secret, date, region, service), fields["policy"].encode(), hashlib.sha256
        ).hexdigest()
    except (KeyError, ValueError) as error:
        raise PolicyRefused(403, "AccessDenied", "the form is not a signed POST policy") from error
    if not hmac.compare_digest(expected, fields.get("x-amz-signature", "")):
        raise PolicyRefused(403, "SignatureDoesNotMatch", "the policy's signature does not match")


def check_policy(
    fields: dict[str, str], bucket: str, size: int, now: datetime | None = None
) -> dict[str, Any]:
    """Every condition of the policy must hold for this form and file, as S3 checks them."""
    try:
        policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
        expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    except (KeyError, ValueError) as error:
        raise PolicyRefused(400, "InvalidPolicyDocument", "the policy cannot be read") from error
    if (now or datetime.now(UTC)) > expires:
        raise PolicyRefused(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    values = {name.lower(): value for name, value in fields.items()} | {"bucket": bucket}
    for condition in policy.get("conditions", []):
        if isinstance(condition, dict):
            ((name, wanted),) = condition.items()
            _require(values.get(name.lower()) == wanted, f"{name} must be {wanted!r}")
        elif condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if size > high:
                raise PolicyRefused(400, "EntityTooLarge", f"the file is over {high} bytes")
            if size < low:
                raise PolicyRefused(400, "EntityTooSmall", f"the file is under {low} bytes")
        elif condition[0] == "eq":
            _require(values.get(condition[1].lstrip("$").lower()) == condition[2], "eq")
        elif condition[0] == "starts-with":
            value = values.get(condition[1].lstrip("$").lower(), "")
            _require(value.startswith(condition[2]), f"{condition[1]} starts-with")
    return policy


def _require(holds: bool, what: str) -> None:
    if not holds:
        raise PolicyRefused(403, "AccessDenied", f"Invalid according to Policy: {what}")
