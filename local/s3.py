"""Amazon S3's browser upload (POST Object with a signed POST policy), as the local stage serves
it at `/s3/{bucket}`: a form over the largest upload is refused from its Content-Length, the
policy's SigV4 signature and every condition are checked (`local.s3_post`) before a byte of the
file is read into memory, S3's error codes answer a refusal (as XML), and an accepted object is
put into moto's bucket under the key and with the content type the policy was checked against,
answered 204 as S3 does by default. The form is read once, its names case-insensitively; a name
given twice, a missing key or anything but one file is refused."""

from __future__ import annotations

import os

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from adapters.aws import client
from domain.limits import MAX_UPLOAD_BYTES
from local.s3_post import PolicyRefused, check_policy, check_signature

UPLOAD_FORM_OVERHEAD = 64 * 1024  # the policy, its signature and the other form fields


async def upload(request: Request) -> Response:
    """S3's POST upload, with the policy checks moto leaves out; the object goes to moto."""
    bucket = request.path_params["bucket"]
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_UPLOAD_BYTES + UPLOAD_FORM_OVERHEAD:
        return refusal(PolicyRefused(400, "EntityTooLarge", "the upload is too large"))
    async with request.form(max_part_size=MAX_UPLOAD_BYTES + 1) as form:
        try:
            fields, file = read_form(form.multi_items())
            # Signed and within the policy before a byte of the file is read into memory.
            check_signature(fields, os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
            check_policy(fields, bucket, file.size or 0)
        except PolicyRefused as refused:
            return refusal(refused)
        data = await file.read()
    # The key and type stored are the ones the policy was checked against.
    await run_in_threadpool(
        client("s3").put_object,
        Bucket=bucket,
        Key=fields["key"],
        Body=data,
        ContentType=fields.get("content-type", "binary/octet-stream"),
    )
    return Response(status_code=204)


def read_form(items: list[tuple[str, str | UploadFile]]) -> tuple[dict[str, str], UploadFile]:
    """The form's fields by lower-cased name (S3 reads names case-insensitively) and its one file.
    A name given twice is refused: whichever one a check read, the other could be stored."""
    fields: dict[str, str] = {}
    files: list[UploadFile] = []
    for name, value in items:
        if isinstance(value, UploadFile):
            files.append(value)
            continue
        if name.lower() in fields:
            raise PolicyRefused(400, "InvalidArgument", f"the form gives {name!r} twice")
        fields[name.lower()] = value
    if len(files) != 1:
        raise PolicyRefused(
            400, "InvalidArgument", "POST requires exactly one file upload per request."
        )
    if not fields.get("key"):
        raise PolicyRefused(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.")
    return fields, files[0]


def refusal(refused: PolicyRefused) -> Response:
    return Response(refused.xml(), refused.status, media_type="application/xml")
