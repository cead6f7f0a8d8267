"""boto3 clients for the adapters. Endpoints come from the standard `AWS_ENDPOINT_URL` variables,
so the same code talks to AWS or to the local stage's moto server."""

from __future__ import annotations

import os
from functools import cache
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


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_S3_CONFIG if service == "s3" else CONFIG)


def table_name(env_var: str) -> str:
    try:
        return os.environ[env_var]
    except KeyError as missing:
        raise RuntimeError(f"{env_var} is not set: which table should be used?") from missing


@cache
def resource(service: str) -> Any:
    return boto3.session.Session().resource(service, config=CONFIG)
