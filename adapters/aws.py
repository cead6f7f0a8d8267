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

# For a check that must answer within a short function's time (a rate limit on `$connect`, whose
# function has 5 s): no retries of botocore's (the caller retries a throttle within
# milliseconds) and short timeouts, then the caller answers busy.
QUICK_CONFIG = CONFIG.merge(
    Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
)


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


def client(service: str, *, quick: bool = False) -> Any:
    """One client per service and environment, kept for the process's life (a Lambda instance
    reuses it); a process that points the AWS variables elsewhere (a test's moto) gets new ones.
    `quick`: few retries and short timeouts (`QUICK_CONFIG`)."""
    return _client(service, _aws_environment(), quick)


@lru_cache(maxsize=64)
def _client(service: str, _: tuple[tuple[str, str], ...], quick: bool = False) -> Any:
    config = QUICK_CONFIG if quick else _S3_CONFIG if service == "s3" else CONFIG
    return boto3.session.Session().client(service, config=config)


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
