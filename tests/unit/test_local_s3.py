"""The local S3 upload endpoint (POST Object): a form signed with a POST policy is checked as S3
checks it before the object is put, and refused with S3's error codes; with boto3's own forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from starlette.applications import Starlette
from starlette.routing import Route

from local import s3
from tests.unit.local_support import serving

SECRET = "local-secret"
KEY = "rooms/r1/f1"


class Bucket:
    """Stands in for moto's S3 client: records what was put."""

    def __init__(self) -> None:
        self.put: list[dict[str, Any]] = []

    def put_object(self, **request: Any) -> None:
        self.put.append(request)


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Bucket:
    bucket = Bucket()
    monkeypatch.setattr(s3, "client", lambda service: bucket)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    return bucket


@pytest.fixture
def base(bucket: Bucket) -> Iterator[str]:
    app = Starlette(routes=[Route("/s3/{bucket}", s3.upload, methods=["POST"])])
    with serving(app) as host:
        yield f"http://{host}/s3"


def signed_form(secret: str = SECRET, content_type: str | None = "image/png") -> dict[str, str]:
    """A POST policy as the application signs one: this bucket, this key, 1 to 100 bytes."""
    signer = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4"),
    )
    typed = {"Content-Type": content_type} if content_type else {}
    post = signer.generate_presigned_post(
        "files",
        KEY,
        Fields=typed,
        Conditions=[*([typed] if typed else []), ["content-length-range", 1, 100]],
        ExpiresIn=300,
    )
    fields: dict[str, str] = post["fields"]
    return fields


def upload(
    base: str,
    fields: dict[str, str] | list[tuple[str, str]],
    data: bytes = b"png",
    bucket: str = "files",
) -> Any:
    files = {"file": ("f1.png", data)}
    return requests.post(f"{base}/{bucket}", data=fields, files=files, timeout=5)


def error_code(response: requests.Response) -> str:
    assert response.headers["content-type"] == "application/xml"
    found = re.search(r"<Code>(\w+)</Code>", response.text)
    assert found is not None
    return found.group(1)


def test_a_form_within_its_signed_policy_puts_the_object(base: str, bucket: Bucket) -> None:
    response = upload(base, signed_form())

    assert response.status_code == 204
    assert bucket.put == [
        {"Bucket": "files", "Key": KEY, "Body": b"png", "ContentType": "image/png"}
    ]


def test_an_object_without_a_content_type_is_stored_as_binary(base: str, bucket: Bucket) -> None:
    assert upload(base, signed_form(content_type=None)).status_code == 204

    assert bucket.put[0]["ContentType"] == "binary/octet-stream"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (lambda fields: fields | {"x-amz-signature": "0" * 64}, 403, "SignatureDoesNotMatch"),
        (lambda fields: signed_form(secret="another-secret"), 403, "SignatureDoesNotMatch"),
        (lambda fields: {"key": KEY, "policy": fields["policy"]}, 403, "AccessDenied"),
        (lambda fields: fields | {"key": "rooms/r2/f1"}, 403, "AccessDenied"),
        (lambda fields: fields | {"Content-Type": "text/html"}, 403, "AccessDenied"),
    ],
    ids=["forged", "other-secret", "unsigned", "other-key", "other-type"],
)
def test_a_form_breaking_its_policy_is_refused_and_nothing_is_put(
    base: str, bucket: Bucket, change: Any, status: int, code: str
) -> None:
    response = upload(base, change(signed_form()))

    assert (response.status_code, error_code(response)) == (status, code)
    assert bucket.put == []


@pytest.mark.parametrize(
    ("data", "bucket_name", "status", "code"),
    [
        (b"x" * 101, "files", 400, "EntityTooLarge"),
        (b"", "files", 400, "EntityTooSmall"),
        (b"png", "other", 403, "AccessDenied"),
    ],
)
def test_a_file_or_bucket_outside_the_policy_is_refused(
    base: str, bucket: Bucket, data: bytes, bucket_name: str, status: int, code: str
) -> None:
    response = upload(base, signed_form(), data, bucket_name)

    assert (response.status_code, error_code(response)) == (status, code)
    assert bucket.put == []


@pytest.mark.parametrize(
    "extra",
    [("content-type", "text/html"), ("Key", "rooms/elsewhere/f1"), ("POLICY", "e30=")],
    ids=["a second type", "a second key", "a second policy"],
)
def test_a_field_given_twice_in_any_case_is_refused_and_nothing_is_put(
    base: str, bucket: Bucket, extra: tuple[str, str]
) -> None:
    """Whichever of the two the checks read, the other could be stored: an HTML page where an
    image was signed for, a file in a room the uploader is not in."""
    response = upload(base, [*signed_form().items(), extra])

    assert (response.status_code, error_code(response)) == (400, "InvalidArgument")
    assert bucket.put == []


def test_field_names_are_read_case_insensitively_as_s3_reads_them(
    base: str, bucket: Bucket
) -> None:
    fields = {name.title(): value for name, value in signed_form().items()}

    assert upload(base, fields).status_code == 204
    assert (bucket.put[0]["Key"], bucket.put[0]["ContentType"]) == (KEY, "image/png")


def test_a_form_without_a_key_is_refused_as_s3_refuses_it(base: str, bucket: Bucket) -> None:
    fields = {name: value for name, value in signed_form().items() if name != "key"}

    response = upload(base, fields)

    assert (response.status_code, error_code(response)) == (400, "InvalidArgument")
    assert bucket.put == []


def test_a_form_declared_over_the_largest_upload_is_refused_before_it_is_read(
    base: str, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3, "MAX_UPLOAD_BYTES", 10)
    monkeypatch.setattr(s3, "UPLOAD_FORM_OVERHEAD", 10)

    response = upload(base, signed_form(), b"x" * 100)

    assert (response.status_code, error_code(response)) == (400, "EntityTooLarge")
    assert "too large" in response.text
    assert bucket.put == []
