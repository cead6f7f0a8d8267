"""The real Pulumi program, run once per stack under Pulumi's mocks (no CLI, no cloud)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.program import Program, Registered, run


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws announces its renamed resources (BucketV2 -> Bucket, ...) as its modules load.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws")


# Whether someone built ui/ on this machine must not change what the tests see.
NO_UI_BUILD = {"chat:uiBuildDir": "tests/infra/no-ui-build"}


@pytest.fixture(scope="session")
def dev() -> Program:
    return run("dev", NO_UI_BUILD)


@pytest.fixture(scope="session")
def prod() -> Program:
    return run("prod", NO_UI_BUILD)


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack(request: pytest.FixtureRequest, dev: Program, prod: Program) -> Program:
    return dev if request.param == "dev" else prod


def policy_of(program: Program, function: str) -> list[dict[str, Any]]:
    document = program.one("aws:iam/rolePolicy:RolePolicy", function).get("policy")
    statements: list[dict[str, Any]] = json.loads(document)["Statement"]
    return statements


def function_named(program: Program, name: str) -> Registered:
    return program.one("aws:lambda/function:Function", name)


def component_of(program: Program, resource: Registered) -> str:
    """The chat:index component a resource belongs to (its nearest component ancestor)."""
    recorded = {r.urn for r in program.resources}
    parent = resource.parent
    while parent in recorded:
        owner = program.by_urn(parent)
        if owner.type.startswith("chat:index:"):
            return owner.type
        parent = owner.parent
    return ""
