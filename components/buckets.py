"""Private S3 buckets and the CloudFront distributions that read them through origin access control.
Files and the frontend both use these, so both get the same locks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.policies import service_may

# AWS managed cache policies.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def private_bucket(
    name: str, prefix: str, *, versioned: bool, retain: bool, parent: pulumi.Resource
) -> aws.s3.Bucket:
    """Public access blocked, owner-enforced (no ACLs), encrypted at rest, optionally versioned."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(
        name,
        bucket_prefix=f"{prefix}-{name}-",
        # A stage without deletion protection can be destroyed with what it holds.
        force_destroy=not retain,
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=retain),
    )
    aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                "bucket_key_enabled": True,
            }
        ],
        opts=child,
    )
    if versioned:
        aws.s3.BucketVersioning(
            name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
        )
    return bucket


def cloudfront_reader(
    name: str,
    bucket: aws.s3.Bucket,
    *,
    comment: str,
    default_root_object: str = "",
    spa_fallback: bool = False,
    uncached_paths: Sequence[str] = (),
    aliases: Sequence[str] = (),
    certificate_arn: str = "",
    parent: pulumi.Resource,
) -> aws.cloudfront.Distribution:
    """A distribution whose only way into the bucket is its origin access control (SigV4)."""
    child = pulumi.ResourceOptions(parent=parent)
    oac = aws.cloudfront.OriginAccessControl(
        name,
        name=pulumi.Output.concat(bucket.id, "-oac").apply(lambda text: text[:64]),
        origin_access_control_origin_type="s3",
        signing_behavior="always",
        signing_protocol="sigv4",
        opts=child,
    )
    origin = "bucket"
    # A missing key answers 403 through OAC (the bucket stays unlistable): the SPA's router
    # gets index.html for it, as for 404.
    errors: list[Any] = (
        [
            {"error_code": code, "response_code": 200, "response_page_path": "/index.html"}
            for code in (403, 404)
        ]
        if spa_fallback
        else []
    )
    certificate: Any = (
        {
            "acm_certificate_arn": certificate_arn,
            "ssl_support_method": "sni-only",
            "minimum_protocol_version": "TLSv1.2_2021",
        }
        if certificate_arn
        else {"cloudfront_default_certificate": True}
    )
    distribution = aws.cloudfront.Distribution(
        name,
        enabled=True,
        comment=comment,
        price_class="PriceClass_100",
        http_version="http2and3",
        default_root_object=default_root_object or None,
        aliases=list(aliases),
        origins=[
            {
                "origin_id": origin,
                "domain_name": bucket.bucket_regional_domain_name,
                "origin_access_control_id": oac.id,
            }
        ],
        default_cache_behavior={
            "target_origin_id": origin,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ["GET", "HEAD", "OPTIONS"],
            "cached_methods": ["GET", "HEAD"],
            "compress": True,
            "cache_policy_id": CACHING_OPTIMIZED,
        },
        ordered_cache_behaviors=[
            {
                "path_pattern": path,
                "target_origin_id": origin,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "cache_policy_id": CACHING_DISABLED,
            }
            for path in uncached_paths
        ],
        custom_error_responses=errors,
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate=certificate,
        opts=child,
    )
    aws.s3.BucketPolicy(
        name,
        bucket=bucket.id,
        policy=service_may(
            "CloudFrontReadsThroughOac",
            "cloudfront.amazonaws.com",
            "s3:GetObject",
            pulumi.Output.concat(bucket.arn, "/*"),
            {"StringEquals": {"AWS:SourceArn": distribution.arn}},
        ),
        opts=child,
    )
    return distribution
