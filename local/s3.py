"""Amazon S3's browser upload (POST Object with a signed POST policy), as the local stage serves
it at `/s3/{bucket}`: a form over the largest upload is refused from its Content-Length, the
policy's SigV4 signature and every condition are checked (`local.s3_post`) before a byte of the
file is read into memory, S3's error codes answer a refusal (as XML), and an accepted object is
put into moto's bucket with the form's content type, answered 204 as S3 does by default."""

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
        refused = PolicyRefused(400, "EntityTooLarge", "the upload is too large")
        return Response(refused.xml(), refused.status, media_type="application/xml")
    async with request.form(max_part_size=MAX_UPLOAD_BYTES + 1) as form:
        file = form.get("file")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            # Signed and within the policy before a byte of the file is read into memory.
            check_signature(fields, os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
            size = file.size if isinstance(file, UploadFile) else 0
            check_policy(fields, bucket, size or 0)
        except PolicyRefused as refused:
            return Response(refused.xml(), refused.status, media_type="application/xml")
        data = await file.read() if isinstance(file, UploadFile) else b""
    content_type = next(
        (v for k, v in fields.items() if k.lower() == "content-type"), "binary/octet-stream"
    )
    await run_in_threadpool(
        client("s3").put_object,
        Bucket=bucket,
        Key=fields["key"],
        Body=data,
        ContentType=content_type,
    )
    return Response(status_code=204)
