"""boto3 clients for the adapters. Endpoints come from the standard `AWS_ENDPOINT_URL` variables,
so the same code talks to AWS or to the local stage's moto server."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=32,
    # Requests are built by this code from typed values; botocore's per-call schema walk is
    # pure overhead on the hot path (the service still validates and answers 400 on a bad one).
    parameter_validation=False,
)


# Presigned S3 URLs and POST forms signed with SigV4, which every region accepts (SigV2 is legacy).
_S3_CONFIG = CONFIG.merge(Config(signature_version="s3v4"))


_BINDING = (
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
)


def _aws_environment() -> tuple[tuple[str, str], ...]:
    """What a client is bound to when it is made: endpoints (`AWS_ENDPOINT_URL` and the
    per-service `AWS_ENDPOINT_URL_<SERVICE>`), region and credentials."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_BINDING)))


def client(service: str) -> Any:
    """One client per service and environment, kept for the process's life (a Lambda instance
    reuses it); a process that points the AWS variables elsewhere (a test's moto) gets new ones."""
    return _client(service, _aws_environment())


@lru_cache(maxsize=64)
def _client(service: str, _: tuple[tuple[str, str], ...]) -> Any:
    return boto3.session.Session().client(service, config=_S3_CONFIG if service == "s3" else CONFIG)


def table_name(env_var: str) -> str:
    try:
        return os.environ[env_var]
    except KeyError as missing:
        raise RuntimeError(f"{env_var} is not set: which table should be used?") from missing


def resource(service: str) -> Any:
    return _resource(service, _aws_environment())


@lru_cache(maxsize=16)
def _resource(service: str, _: tuple[tuple[str, str], ...]) -> Any:
    return boto3.session.Session().resource(service, config=CONFIG)
