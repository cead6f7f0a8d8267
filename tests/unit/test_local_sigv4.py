"""The local stage's moto servers answer, as AWS does, only requests signed with the stage's
credentials (local/sigv4.py), and what AWS serves unsigned."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import BytesIO
from unittest.mock import patch

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.sigv4 import Refused, Request, check, needs_body, signed_only

STAGE = Credentials("LOCALKEY", "stage-secret")
HOST = "127.0.0.1:5000"
NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
GET_ITEM = json.dumps({"TableName": "views", "Key": {"pk": {"S": "room#r1"}}}).encode()


def received(signed: AWSRequest) -> Request:
    """What the server gets of a request botocore signed."""
    url = signed.url.split(HOST, 1)[1]
    headers = {name.lower(): str(value) for name, value in signed.headers.items()}
    headers["host"] = HOST
    body = signed.body if isinstance(signed.body, bytes) else (signed.body or "").encode()
    return Request(signed.method, url, headers, body)


def signed_call(
    body: bytes = GET_ITEM,
    credentials: Credentials = STAGE,
    at: datetime = NOW,
    region: str = "us-east-1",
) -> Request:
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=body,
        headers={
            "X-Amz-Target": "DynamoDB_20120810.GetItem",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    _sign_at(SigV4Auth(credentials, "dynamodb", region), request, at)
    return received(request)


def _sign_at(signer: SigV4Auth, request: AWSRequest, at: datetime) -> None:
    """Sign as botocore does, at `at` rather than now."""
    with patch("botocore.auth.get_current_datetime", lambda: at.replace(tzinfo=None)):
        signer.add_auth(request)


def presigned_download(expires: int = 300, at: datetime = NOW) -> Request:
    request = AWSRequest(method="GET", url=f"http://{HOST}/files-bucket/rooms/r1/f%C3%BC%20x.png")
    _sign_at(S3SigV4QueryAuth(STAGE, "s3", "us-east-1", expires), request, at)
    return received(request)


def refusal(request: Request, now: datetime = NOW) -> str:
    with pytest.raises(Refused) as refused:
        check(request, STAGE, now)
    return refused.value.code


def test_a_call_signed_with_the_stage_s_credentials_is_answered() -> None:
    check(signed_call(), STAGE, NOW)


def test_a_call_without_a_signature_is_refused() -> None:
    unsigned = signed_call()
    headers = {k: v for k, v in unsigned.headers.items() if k != "authorization"}

    assert refusal(Request("POST", "/", headers, GET_ITEM)) == "MissingAuthenticationToken"


def test_a_call_signed_with_another_secret_or_key_is_refused() -> None:
    assert refusal(signed_call(credentials=Credentials("LOCALKEY", "guess"))) == (
        "SignatureDoesNotMatch"
    )
    assert refusal(signed_call(credentials=Credentials("OTHERKEY", "stage-secret"))) == (
        "InvalidClientTokenId"
    )


def test_a_signed_call_whose_body_was_changed_is_refused() -> None:
    call = signed_call()
    tampered = Request(call.method, call.raw_uri, call.headers, call.body.replace(b"r1", b"r2"))

    assert refusal(tampered) == "SignatureDoesNotMatch"


def test_a_call_signed_more_than_15_minutes_away_or_for_another_region_is_refused() -> None:
    assert refusal(signed_call(at=NOW - timedelta(minutes=16))) == "RequestTimeTooSkewed"
    check(signed_call(at=NOW - timedelta(minutes=14)), STAGE, NOW)
    assert refusal(signed_call(region="eu-west-1")) == "AuthorizationHeaderMalformed"


def test_an_s3_upload_whose_body_is_not_the_hashed_one_is_refused() -> None:
    request = AWSRequest(
        method="PUT", url=f"http://{HOST}/files-bucket/rooms/r1/a.png", data=b"picture"
    )
    _sign_at(S3SigV4Auth(STAGE, "s3", "us-east-1"), request, NOW)
    put = received(request)
    check(put, STAGE, NOW)

    swapped = Request(put.method, put.raw_uri, put.headers, b"<script>")
    assert refusal(swapped) == "XAmzContentSHA256Mismatch"


def test_a_presigned_download_is_answered_until_it_expires() -> None:
    download = presigned_download(expires=300)

    check(download, STAGE, NOW + timedelta(seconds=299))
    assert refusal(download, NOW + timedelta(seconds=301)) == "AccessDenied"


def test_a_presigned_download_with_its_signature_zeroed_or_its_answer_changed_is_refused() -> None:
    download = presigned_download()
    query = download.raw_uri.split("X-Amz-Signature=")[0]

    zeroed = Request("GET", query + "X-Amz-Signature=" + "0" * 64, download.headers, b"")
    as_html = Request(
        "GET", download.raw_uri + "&response-content-type=text/html", download.headers, b""
    )
    assert refusal(zeroed) == "SignatureDoesNotMatch"
    assert refusal(as_html) == "SignatureDoesNotMatch"


def test_what_aws_serves_unsigned_is_answered_unsigned() -> None:
    host = {"host": HOST}
    check(Request("GET", "/us-east-1_abc/.well-known/jwks.json", host, b""), STAGE, NOW)
    check(Request("GET", "/moto-api/", host, b""), STAGE, NOW)
    preflight = host | {"origin": "http://127.0.0.1:8000", "access-control-request-method": "GET"}
    check(Request("OPTIONS", "/files-bucket/rooms/r1/a.png", preflight, b""), STAGE, NOW)
    sign_in = json.dumps({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "c"}).encode()
    cognito = host | {"x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth"}
    check(Request("POST", "/", cognito, sign_in), STAGE, NOW)


def test_cognito_s_admin_calls_and_flows_the_client_does_not_allow_need_more() -> None:
    host = {"host": HOST}
    admin = host | {"x-amz-target": "AWSCognitoIdentityProviderService.ListUsers"}
    srp = json.dumps({"AuthFlow": "USER_SRP_AUTH", "ClientId": "c"}).encode()
    sign_in = host | {"x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth"}

    assert refusal(Request("POST", "/", admin, b"{}")) == "MissingAuthenticationToken"
    assert refusal(Request("POST", "/", sign_in, srp)) == "InvalidParameterException"
    assert refusal(Request("GET", "/files-bucket", host, b"")) == "MissingAuthenticationToken"


def test_an_options_request_carrying_a_cognito_call_is_no_preflight() -> None:
    """moto runs an OPTIONS request's action like any other: with a target, it set a password."""
    preflight = {"host": HOST, "origin": "http://x", "access-control-request-method": "POST"}
    admin = preflight | {"x-amz-target": "AWSCognitoIdentityProviderService.AdminSetUserPassword"}
    body = json.dumps({"UserPoolId": "p", "Username": "bob", "Password": "Hacked123!"}).encode()
    with_body = preflight | {"content-length": str(len(body))}

    assert refusal(Request("OPTIONS", "/", admin, body)) == "MissingAuthenticationToken"
    assert refusal(Request("OPTIONS", "/", with_body, body)) == "MissingAuthenticationToken"


def test_a_preflight_for_a_presigned_download_is_answered_as_s3_answers_it() -> None:
    download = presigned_download()
    preflight = dict(download.headers) | {"access-control-request-method": "GET"}

    check(Request("OPTIONS", download.raw_uri, preflight, b""), STAGE, NOW)


def test_a_presigned_request_for_another_service_is_refused_not_crashed_on() -> None:
    request = AWSRequest(method="GET", url=f"http://{HOST}/?Action=ListQueues")
    _sign_at(SigV4QueryAuth(STAGE, "sqs", "us-east-1", 60), request, NOW)

    assert refusal(received(request)) == "AuthorizationQueryParametersError"


def test_only_a_signed_request_or_a_public_cognito_call_has_its_body_read() -> None:
    host = {"host": HOST}
    upload = Request("PUT", "/files-bucket/big", host | {"content-length": "9999999"}, b"")
    sign_in = host | {"x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth"}

    assert not needs_body(upload)
    assert needs_body(signed_call()) and needs_body(Request("POST", "/", sign_in, b""))


def test_an_options_request_to_no_bucket_is_no_preflight() -> None:
    """moto's S3 lists every bucket for `OPTIONS /`, and its dispatcher fails on its own paths."""
    preflight = {"host": HOST, "origin": "http://x", "access-control-request-method": "GET"}

    for path in ("/", "/dynamodb_us-east-1/x", "/moto-api/data.json"):
        assert refusal(Request("OPTIONS", path, preflight, b"")) == "MissingAuthenticationToken"


def test_a_refused_request_whose_body_was_not_read_closes_its_connection() -> None:
    """Unread, the body would be taken for the connection's next request."""
    answered: list[tuple[str, list[tuple[str, str]]]] = []

    def refuse(body_headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
        environ = {
            "REQUEST_METHOD": "PUT",
            "wsgi.input": BytesIO(b"x" * 10),
            "asgi.scope": {
                "method": "PUT",
                "path": "/files-bucket/a",
                "query_string": b"",
                "headers": [(b"host", HOST.encode()), *body_headers],
            },
        }
        signed_only(lambda *_: [b"moto"], STAGE)(environ, lambda *a: answered.append(a))
        return dict(answered[-1][1])

    assert refuse([(b"content-length", b"10")])["Connection"] == "close"
    assert "Connection" not in refuse([])
