"""What the local stage keeps secret: its AWS credentials and its Cognito pools' signing key, made
for the stage (never moto's well-known ones), kept in its folder for its owner's eyes only."""

from __future__ import annotations

import gzip
import json
import stat
from pathlib import Path

from local.moto_cognito import public_jwks, signing_key
from local.moto_process import credentials
from tests.integration.pools import MOTO_KEY


def owner_only(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_stage_signs_with_a_key_of_its_own_kept_for_its_next_run(tmp_path: Path) -> None:
    path = tmp_path / "cognito-key.json"

    made = signing_key(path)
    kept = signing_key(path)

    assert made.as_dict(private=True) == kept.as_dict(private=True)
    assert owner_only(path)
    assert made.as_dict()["n"] != json.loads(gzip.decompress(MOTO_KEY.read_bytes()))["n"]
    assert signing_key(None).as_dict()["n"] != made.as_dict()["n"]


def test_the_jwks_serves_the_public_half_alone_under_the_kid_moto_writes(tmp_path: Path) -> None:
    key = signing_key(tmp_path / "cognito-key.json")

    (served,) = json.loads(public_jwks(key))["keys"]

    assert served["kid"] == "dummy"
    assert served["n"] == key.as_dict()["n"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(served)


def test_a_stage_s_aws_credentials_are_random_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "aws-credentials.json"

    made = credentials(path)

    assert made == credentials(path)
    other = credentials(tmp_path / "other")
    assert made["AWS_SECRET_ACCESS_KEY"] not in ("testing", other["AWS_SECRET_ACCESS_KEY"])
    assert owner_only(path)


def test_a_secret_is_written_owner_only_over_a_leftover_and_a_loose_one_is_tightened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cognito-key.json"
    leftover = tmp_path / ".cognito-key.json.k1ll3d"  # what a kill part-way through a write left
    leftover.write_text("{}")
    leftover.chmod(0o644)

    made = signing_key(path)
    path.chmod(0o644)
    kept = signing_key(path)

    assert owner_only(path)
    assert made.as_dict(private=True) == kept.as_dict(private=True)
    assert not leftover.exists()
