"""Shared files: a private, encrypted, versioned bucket that browsers post presigned forms to and
download from by short-lived presigned GETs, each handed out after the membership check. No CDN
serves it: one without signed URLs would hand any file to whoever learned its key (`chat plan`
refuses any distribution of it that does not require them)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.buckets import private_bucket
from components.topology import Bucket


@dataclass
class FilesArgs:
    bucket: Bucket
    prefix: str
    web_origins: pulumi.Input[list[str]]
    noncurrent_days: int
    retain: bool


class Files(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: FilesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:Files", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = private_bucket(
            args.bucket.name, args.prefix, versioned=True, retain=args.retain, parent=self
        )
        aws.s3.BucketLifecycleConfiguration(
            args.bucket.name,
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "old-versions-and-abandoned-uploads",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=child,
        )
        if args.bucket.browser_uploads:
            aws.s3.BucketCorsConfiguration(
                args.bucket.name,
                bucket=self.bucket.id,
                cors_rules=[
                    {
                        # Presigned POST forms from the web client.
                        "allowed_methods": ["POST"],
                        "allowed_origins": args.web_origins,
                        "allowed_headers": ["*"],  # a form's fields vary with its policy
                        "max_age_seconds": 3600,
                    },
                    {
                        # Downloads: the client fetches GET /rooms/{id}/files/{id}, which
                        # redirects to a presigned GET; after a cross-origin redirect the browser
                        # sends Origin: null, so no origin list can match. The presigned
                        # signature is the credential, not the origin.
                        "allowed_methods": ["GET", "HEAD"],
                        "allowed_origins": ["*"],
                        "max_age_seconds": 3600,
                    },
                ],
                opts=child,
            )
        self.register_outputs({"bucket": self.bucket.bucket})
