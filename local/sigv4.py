"""AWS's request authentication, which moto does not make, before the local stage's moto servers.

moto answers any request, signed or not, with any credentials: anyone on the machine could read
every table, queue and file of the stage on its port, and a presigned download URL with its
signature zeroed still downloaded. AWS answers only a request signed with SigV4 by a known key,
and so does this check, with the stage's credentials (local/moto_process.py keeps them):

- in the `Authorization` header: the signature is computed again over the request as received
  (botocore's own canonical request and signing key, for the signed headers the request names),
  the key must be the stage's, the scope the stage's region, the clock within AWS's 15 minutes,
  and a payload hash S3 is given must be the body's;
- presigned, in the query string (S3's download URLs): the same, and not past its expiry.

What AWS serves unsigned stays unsigned: Cognito's public operations (with the app client's flows
only, as local/cognito.py lets them through the gateway), a user pool's keys, a browser's CORS
preflight, and the server's bare dashboard path that says it is up. Refusals carry AWS's codes:
XML for S3, JSON otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any, Final
from urllib.parse import parse_qsl

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.cognito import COGNITO_PUBLIC_TARGETS, refusal

REGION: Final = "us-east-1"
MAX_SKEW: Final = timedelta(minutes=15)
MAX_PRESIGNED_EXPIRY_S: Final = 7 * 24 * 3600
_ALGORITHM: Final = "AWS4-HMAC-SHA256"
_AUTHORIZATION: Final = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)"
)
_UNSIGNED_PATHS: Final = re.compile(
    r"/moto-api/|/[\w-]+/\.well-known/(jwks\.json|openid-configuration)"
)
# A path that names an S3 bucket (and perhaps a key): an OPTIONS request to another path reaches
# another of moto's actions (`/` lists every bucket; `/dynamodb_<region>/` crashes its dispatcher).
_BUCKET_PATH: Final = re.compile(r"/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?")
_NOT_BUCKETS: Final = ("/moto-api", "/latest/")  # moto's own API, its instance metadata
_UNHASHED_PAYLOADS: Final = ("UNSIGNED-PAYLOAD", "STREAMING-")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Request:
    method: str
    raw_uri: str  # path and query, as sent
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    @classmethod
    def of_scope(cls, scope: Mapping[str, Any], body: bytes) -> Request:
        """The request an ASGI scope describes, with its body."""
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", []):
            name, value = raw_name.decode("latin1").lower(), raw_value.decode("latin1").strip()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin1")
        query = scope.get("query_string", b"").decode("latin1")
        return cls(scope["method"], raw_path + (f"?{query}" if query else ""), headers, body)

    @property
    def path(self) -> str:
        return self.raw_uri.partition("?")[0]

    @property
    def query(self) -> str:
        return self.raw_uri.partition("?")[2]


def check(
    request: Request,
    credentials: Credentials,
    now: datetime | None = None,
    service: str | None = None,
) -> None:
    """Raises Refused unless AWS would take the request as the stage's own, or as public where
    no `service` is named (an endpoint of one service, named, serves nothing unsigned)."""
    now = now or datetime.now(UTC)
    if service is None and is_preflight(request):
        return  # a browser's CORS preflight, which S3 answers by the bucket's CORS rules
    authorization = request.headers.get("authorization")
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    if authorization is not None:
        scoped = _check_header_signature(request, authorization, credentials, now)
    elif "X-Amz-Signature" in query or "X-Amz-Credential" in query:
        scoped = _check_presigned(request, query, credentials, now)
    elif service is None:
        _check_public(request)
        return
    else:
        raise Refused(403, "MissingAuthenticationToken", "Missing Authentication Token")
    if service is not None and scoped != service:
        raise Refused(403, "SignatureDoesNotMatch", f"Credential should be scoped to {service}")


def is_preflight(request: Request) -> bool:
    """A browser's CORS preflight and nothing more: moto runs an OPTIONS request's action like
    any other (an `X-Amz-Target` on it set a Cognito password), so one carrying a target, a body
    or credentials is no preflight."""
    headers = request.headers
    return (
        request.method == "OPTIONS"
        and _BUCKET_PATH.fullmatch(request.path) is not None
        and not request.path.startswith(_NOT_BUCKETS)
        and "access-control-request-method" in headers
        and not {"x-amz-target", "authorization", "transfer-encoding"} & headers.keys()
        and headers.get("content-length", "0") == "0"
        and not request.body
    )


def needs_body(request: Request) -> bool:
    """Whether `check` reads the request's body: a signed request's or a public Cognito call's.
    Any other is answered (or refused) from its head, so no unsigned upload is read whole."""
    return (
        "authorization" in request.headers
        or "X-Amz-Signature=" in request.query
        or request.headers.get("x-amz-target") in COGNITO_PUBLIC_TARGETS
    )


def _check_public(request: Request) -> None:
    if request.method in ("GET", "HEAD") and _UNSIGNED_PATHS.fullmatch(request.path):
        return
    target = request.headers.get("x-amz-target", "")
    if request.method == "POST" and target in COGNITO_PUBLIC_TARGETS:
        refused = refusal(target, request.body)
        if refused is not None:
            raise Refused(400, "InvalidParameterException", refused)
        return
    raise Refused(403, "MissingAuthenticationToken", "Request is missing Authentication Token")


def _scope(credential: str, credentials: Credentials) -> tuple[str, str]:
    """The (date, service) of a credential scope that names the stage's key and region."""
    try:
        key, date, region, service, terminal = credential.split("/")
    except ValueError as error:
        raise Refused(400, "IncompleteSignature", "the credential scope is malformed") from error
    if not hmac.compare_digest(key, credentials.access_key):
        raise Refused(
            403, "InvalidClientTokenId", "The security token included in the request is invalid."
        )
    if region != REGION or terminal != "aws4_request":
        raise Refused(
            400, "AuthorizationHeaderMalformed", f"the region is wrong; expecting '{REGION}'"
        )
    return date, service


def _timestamp(value: str | None) -> datetime:
    try:
        return datetime.strptime(value or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as error:
        raise Refused(400, "IncompleteSignature", "X-Amz-Date is missing or malformed") from error


def _check_header_signature(
    request: Request, authorization: str, credentials: Credentials, now: datetime
) -> str:
    """The service the valid signature is scoped to."""
    parsed = _AUTHORIZATION.fullmatch(authorization.strip())
    if parsed is None:
        raise Refused(
            400, "IncompleteSignature", f"Authorization must be {_ALGORITHM} with a scope"
        )
    credential, signed_headers, signature = parsed.groups()
    date, service = _scope(credential, credentials)
    amz_date = request.headers.get("x-amz-date")
    at = _timestamp(amz_date)
    if abs(now - at) > MAX_SKEW or not str(amz_date).startswith(date):
        raise Refused(403, "RequestTimeTooSkewed", "Signature expired: the request time is too far")
    payload = request.headers.get("x-amz-content-sha256")
    hashed = payload is not None and not payload.startswith(_UNHASHED_PAYLOADS)
    if hashed and not hmac.compare_digest(str(payload), hashlib.sha256(request.body).hexdigest()):
        raise Refused(400, "XAmzContentSHA256Mismatch", "the body is not the one signed")
    signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(credentials, service, REGION)
    _verify(signer, request, request.raw_uri, signed_headers, str(amz_date), signature)
    return service


def _check_presigned(
    request: Request, query: dict[str, str], credentials: Credentials, now: datetime
) -> str:
    """The service the valid signature is scoped to."""
    if query.get("X-Amz-Algorithm") != _ALGORITHM:
        raise Refused(
            400, "AuthorizationQueryParametersError", f"X-Amz-Algorithm must be {_ALGORITHM}"
        )
    date, service = _scope(query.get("X-Amz-Credential", ""), credentials)
    if service != "s3":
        raise Refused(400, "AuthorizationQueryParametersError", "only S3 is presigned here")
    amz_date = query.get("X-Amz-Date")
    at = _timestamp(amz_date)
    try:
        expires = int(query.get("X-Amz-Expires", ""))
    except ValueError as error:
        raise Refused(
            400, "AuthorizationQueryParametersError", "X-Amz-Expires is not a number"
        ) from error
    if not 0 < expires <= MAX_PRESIGNED_EXPIRY_S or not str(amz_date).startswith(date):
        raise Refused(400, "AuthorizationQueryParametersError", "X-Amz-Expires is out of range")
    if now > at + timedelta(seconds=expires):
        raise Refused(403, "AccessDenied", "Request has expired")
    if at - now > MAX_SKEW:
        raise Refused(403, "AccessDenied", "Request is not yet valid")
    unsigned = "&".join(
        part for part in request.query.split("&") if not part.startswith("X-Amz-Signature=")
    )
    uri = request.path + (f"?{unsigned}" if unsigned else "")
    signer = S3SigV4QueryAuth(credentials, service, REGION, expires)
    signed_headers = query.get("X-Amz-SignedHeaders", "")
    _verify(signer, request, uri, signed_headers, str(amz_date), query.get("X-Amz-Signature", ""))
    return service


def _verify(
    signer: SigV4Auth,
    request: Request,
    uri: str,
    signed_headers: str,
    amz_date: str,
    signature: str,
) -> None:
    """Refuses the request unless `signature` is the one botocore would have made for its signed
    headers (`host` among them, each present), `uri` and body."""
    names = signed_headers.split(";")
    if "host" not in names or any(name not in request.headers for name in names):
        raise Refused(403, "SignatureDoesNotMatch", "a signed header is missing")
    headers = {name: request.headers[name] for name in names}
    prepared = AWSRequest(
        method=request.method,
        url=f"http://{request.headers['host']}{uri}",
        headers=headers,
        data=request.body,
    )
    prepared.context["timestamp"] = amz_date
    canonical = signer.canonical_request(prepared)
    expected = str(signer.signature(signer.string_to_sign(prepared, canonical), prepared))
    if not hmac.compare_digest(expected, signature):
        raise Refused(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )


def _request(environ: dict[str, Any]) -> Request:
    """The request a WSGI environ (a2wsgi's, with its ASGI scope) carries; the body is read (and
    put back for the application) only where the check needs it."""
    head = Request.of_scope(environ["asgi.scope"], b"")
    if not needs_body(head):
        return head
    body = environ["wsgi.input"].read()
    environ["wsgi.input"] = BytesIO(body)
    return replace(head, body=body)


def _declares_body(request: Request) -> bool:
    headers = request.headers
    return "transfer-encoding" in headers or headers.get("content-length", "0") not in ("", "0")


def _refusal(refused: Refused, request: Request) -> tuple[str, list[tuple[str, str]], bytes]:
    status = f"{refused.status} {'Forbidden' if refused.status == 403 else 'Bad Request'}"
    if "x-amz-target" in request.headers or "json" in request.headers.get("content-type", ""):
        body = json.dumps({"__type": refused.code, "message": refused.message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.0")], body
    xml = f"<Error><Code>{refused.code}</Code><Message>{refused.message}</Message></Error>"
    return status, [("Content-Type", "application/xml")], xml.encode()


def signed_only(app: WsgiApp, credentials: Credentials) -> WsgiApp:
    """`app`, answering only requests `check` lets through."""

    def checked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = _request(environ)
        try:
            check(request, credentials)
        except Refused as refused:
            status, headers, body = _refusal(refused, request)
            if not request.body and _declares_body(request):
                # Unread, the body would be taken for the next request on the connection.
                headers.append(("Connection", "close"))
            start_response(status, headers)
            return [body]
        return app(environ, start_response)

    return checked
