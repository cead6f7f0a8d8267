"""The web client quotes the sharing limits before an upload: they must be the rules' own."""

from __future__ import annotations

import math
import re
from pathlib import Path

from domain import limits

LIMITS_TS = Path(__file__).resolve().parents[2] / "ui" / "src" / "app" / "core" / "limits.ts"


def constant(source: str, name: str) -> str:
    found = re.search(rf"export const {name}\b[^=]*=\s*([^;]+);", source)
    assert found, f"{name} is missing from {LIMITS_TS.name}"
    return found.group(1)


def test_the_ui_allows_exactly_the_content_types_the_rules_allow() -> None:
    listed = constant(LIMITS_TS.read_text(), "ALLOWED_CONTENT_TYPES")
    assert set(re.findall(r"'([^']+)'", listed)) == set(limits.ALLOWED_CONTENT_TYPES)


def test_the_ui_quotes_the_rules_size_and_count_limits() -> None:
    source = LIMITS_TS.read_text()
    factors = constant(source, "MAX_UPLOAD_BYTES").split("*")
    assert math.prod(int(factor) for factor in factors) == limits.MAX_UPLOAD_BYTES
    assert int(constant(source, "MAX_TEXT_CHARS")) == limits.MAX_TEXT_CHARS
    assert int(constant(source, "MAX_ATTACHMENTS")) == limits.MAX_ATTACHMENTS
    assert f"up to {limits.MAX_UPLOAD_BYTES // 2**20} MB" in constant(source, "LIMITS_TEXT")
