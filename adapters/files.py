"""Files on S3: presigned POSTs whose policy S3 enforces, and short-lived presigned GETs."""

from __future__ import annotations

import mimetypes
from typing import Any

from adapters.aws import client


class S3Files:
    def __init__(self, bucket: str, s3: Any = None, upload_url: str | None = None) -> None:
        self.bucket = bucket
        self.s3 = s3 or client("s3")
        # Where browsers post forms, if not S3 itself (the local stage checks policies there).
        self.upload_url = upload_url

    def upload_form(
        self, key: str, content_type: str, max_bytes: int, expires_s: int
    ) -> dict[str, Any]:
        """A form the browser posts straight to S3: this key, this type, at most this size."""
        post = self.s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_s,
        )
        url = f"{self.upload_url}/{self.bucket}" if self.upload_url else post["url"]
        return {"url": url, "fields": post["fields"]}

    def download_url(self, key: str, expires_s: int, name: str | None = None) -> str:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if name:
            params["ResponseContentDisposition"] = disposition(name)
        url: str = self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
        return url


def disposition(name: str) -> str:
    """Pictures and videos show in the page; anything else is saved as a file, never opened as a
    document of the app's origin."""
    safe = "".join(c for c in name if c not in '"\\' and c.isprintable())
    kind = (mimetypes.guess_type(safe)[0] or "").partition("/")[0]
    shown = kind in ("image", "video") and not safe.lower().endswith((".svg", ".svgz"))
    return f'{"inline" if shown else "attachment"}; filename="{safe}"'
