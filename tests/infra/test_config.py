"""The project file declares every setting the program reads; the stack files set only declared
ones; secrets never sit in a stack file in plain text."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from components import settings
from ops.program import ROOT, SECRET_PLACEHOLDER, stack_config

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DECLARED = set(PROJECT["config"])
SECRET_KEYS = {"googleClientSecret", "facebookAppSecret"}


def test_secrets_are_declared_without_the_secret_flag_the_cli_refuses_with_a_default() -> None:
    # pulumi/pulumi#21865: `secret: true` with a default fails `pulumi up` since 3.202.
    assert SECRET_KEYS <= DECLARED
    assert not any(spec.get("secret") for spec in PROJECT["config"].values())


def test_the_program_reads_the_secrets_as_secrets() -> None:
    source = inspect.getsource(settings._social)
    assert "config.get_secret(secret_key)" in source
    assert all(f'"{key}"' in source for key in SECRET_KEYS)


def test_the_project_runs_python_with_the_uv_toolchain_and_describes_itself() -> None:
    assert PROJECT["name"] == "chat"
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "uv"}}
    assert PROJECT["description"]


def test_every_setting_the_program_reads_is_declared_with_a_type_and_default() -> None:
    read = set(re.findall(r'config\.\w+\("(\w+)"\)', inspect.getsource(settings)))
    social = re.findall(r'"(\w+)"', inspect.getsource(settings._social))
    read |= {key for key in social if key[0].islower()}  # not the provider names
    assert len(read) > 20
    assert read <= DECLARED, read - DECLARED
    for key in DECLARED:
        assert {"type", "default"} <= set(PROJECT["config"][key]), key


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_stack_file_sets_a_region_and_only_declared_keys(stack: str) -> None:
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert values["aws:region"]
    for key in values:
        namespace, _, name = key.partition(":")
        assert namespace == "aws" or (namespace == "chat" and name in DECLARED), key


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_secret_is_written_in_plain_text(stack: str) -> None:
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    for key in SECRET_KEYS:
        if f"chat:{key}" in values:
            assert isinstance(values[f"chat:{key}"], dict) and "secure" in values[f"chat:{key}"]


def test_an_encrypted_stack_value_reaches_the_mocked_program_as_a_marked_secret(
    tmp_path: Path,
) -> None:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  chat:googleClientSecret:\n    secure: v1:abc\n"
    )
    config, secrets = stack_config("x", tmp_path)
    assert config["chat:googleClientSecret"] == SECRET_PLACEHOLDER
    assert "chat:googleClientSecret" in secrets
    assert config["chat:logRetentionDays"] == "14"  # the project default
