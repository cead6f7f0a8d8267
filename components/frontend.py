"""The web client: a private bucket behind CloudFront with SPA fallback, the ui/ build uploaded
when there is one, and `config.json` written from the stack's outputs."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.buckets import cloudfront_reader, private_bucket

CONFIG_KEY = "config.json"


@dataclass
class FrontendArgs:
    prefix: str
    build_dir: Path
    domain_name: str = ""
    certificate_arn: str = ""


class Frontend(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: FrontendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:Frontend", name, None, opts)
        self.bucket = private_bucket("web", args.prefix, versioned=False, retain=False, parent=self)
        custom = bool(args.domain_name and args.certificate_arn)
        self.distribution = cloudfront_reader(
            "web-cdn",
            self.bucket,
            comment=f"{args.prefix} web client",
            default_root_object="index.html",
            spa_fallback=True,
            uncached_paths=[f"/{CONFIG_KEY}"],  # a redeploy's new endpoints reach browsers at once
            aliases=[args.domain_name] if custom else [],
            certificate_arn=args.certificate_arn if custom else "",
            parent=self,
        )
        self.url: pulumi.Output[str] = (
            pulumi.Output.from_input(f"https://{args.domain_name}")
            if custom
            else pulumi.Output.concat("https://", self.distribution.domain_name)
        )
        self.files = [self._upload(path, args.build_dir) for path in _build_files(args.build_dir)]
        self.register_outputs({"url": self.url, "bucket": self.bucket.bucket})

    def _upload(self, path: Path, root: Path) -> aws.s3.BucketObjectv2:
        key = path.relative_to(root).as_posix()
        return aws.s3.BucketObjectv2(
            f"web/{key}",
            bucket=self.bucket.id,
            key=key,
            source=pulumi.FileAsset(str(path)),
            content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            opts=pulumi.ResourceOptions(parent=self),
        )


def _build_files(root: Path) -> list[Path]:
    if not (root / "index.html").is_file():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != CONFIG_KEY)


@dataclass
class FrontendConfigArgs:
    bucket: aws.s3.Bucket
    config: dict[str, pulumi.Input[str]]  # the keys of the local stage's /config.json


class FrontendConfig(pulumi.ComponentResource):
    """config.json in the web bucket: the web client learns its endpoints from it, as locally."""

    def __init__(
        self, name: str, args: FrontendConfigArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:FrontendConfig", name, None, opts)
        self.object = aws.s3.BucketObjectv2(
            CONFIG_KEY,
            bucket=args.bucket.id,
            key=CONFIG_KEY,
            content=pulumi.Output.json_dumps(args.config),
            content_type="application/json",
            cache_control="no-store",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"key": self.object.key})
