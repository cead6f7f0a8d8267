"""The stores, identity, edges and outputs of a stage, and what prod adds to dev."""

from __future__ import annotations

import json
from pathlib import Path

from components import packaging
from components.settings import StageSettings
from components.topology import QUEUES, TABLES, current, queue_name
from ops.program import Program, is_secret, run
from tests.infra.conftest import NO_UI_BUILD, component_of

LOCAL_CONFIG_KEYS = {
    "apiUrl",
    "wsUrl",
    "region",
    "userPoolId",
    "userPoolClientId",
    "cognitoEndpoint",
}


def test_every_topology_table_exists_on_demand_and_encrypted(stack: Program) -> None:
    tables = {t.get("name"): t for t in stack.of_type("aws:dynamodb/table:Table")}
    assert set(tables) == {f"chat-{stack.stack}-{t.name}" for t in TABLES}
    for table in TABLES:
        deployed = tables[f"chat-{stack.stack}-{table.name}"]
        assert deployed.get("billingMode") == "PAY_PER_REQUEST"
        assert deployed.get("serverSideEncryption") == {"enabled": True}
        assert deployed.get("hashKey") == table.hash_key.name
        assert deployed.get("rangeKey") == table.range_key.name
        ttl = deployed.get("ttl")
        if table.ttl_attribute:
            assert ttl == {"attributeName": table.ttl_attribute, "enabled": True}
        else:
            assert ttl is None


def test_the_event_log_streams_new_images_and_always_has_point_in_time_recovery(
    stack: Program,
) -> None:
    events = stack.one("aws:dynamodb/table:Table", "events")
    assert events.get("streamEnabled") is True
    assert events.get("streamViewType") == "NEW_IMAGE"
    assert events.get("pointInTimeRecovery") == {"enabled": True}
    assert component_of(stack, events) == "chat:index:EventStore"


def test_connections_expire_by_ttl_and_views_belong_to_the_tables_component(stack: Program) -> None:
    connections = stack.one("aws:dynamodb/table:Table", "connections")
    assert connections.get("ttl") == {"attributeName": "expires_at", "enabled": True}
    assert component_of(stack, connections) == "chat:index:Tables"
    assert (
        component_of(stack, stack.one("aws:dynamodb/table:Table", "views")) == "chat:index:Tables"
    )


def test_every_queue_is_encrypted_and_named_for_the_stage(stack: Program) -> None:
    queues = {q.get("name"): q for q in stack.of_type("aws:sqs/queue:Queue")}
    assert set(queues) == {queue_name(f"chat-{stack.stack}", q) for q in QUEUES}
    assert all(q.get("sqsManagedSseEnabled") is True for q in queues.values())


def test_buckets_are_private_encrypted_and_owner_enforced(stack: Program) -> None:
    buckets = stack.of_type("aws:s3/bucket:Bucket")
    assert {b.name for b in buckets} == {"files", "web"}
    for bucket in buckets:
        block = stack.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket.name)
        assert block.get("bucket") == bucket.get("bucket")
        for setting in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        ):
            assert block.get(setting) is True
        sse = stack.one(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            bucket.name,
        )
        rule = sse.get("rules")[0]["applyServerSideEncryptionByDefault"]
        assert rule["sseAlgorithm"] == "AES256"
        ownership = stack.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket.name)
        assert ownership.get("rule") == {"objectOwnership": "BucketOwnerEnforced"}


def test_files_keep_versions_for_a_while_and_accept_browser_form_posts_from_the_web_client(
    stack: Program,
) -> None:
    versioning = stack.one("aws:s3/bucketVersioning:BucketVersioning", "files")
    assert versioning.get("versioningConfiguration") == {"status": "Enabled"}
    (rule,) = stack.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "files"
    ).get("rules")
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] > 0
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 1}
    uploads, downloads = stack.one(
        "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "files"
    ).get("corsRules")
    assert uploads["allowedMethods"] == ["POST"]
    assert stack.outputs["webUrl"] in uploads["allowedOrigins"]
    assert "*" not in uploads["allowedOrigins"]
    # A download follows a redirect to a presigned GET, which arrives with Origin: null.
    assert downloads["allowedMethods"] == ["GET", "HEAD"]
    assert downloads["allowedOrigins"] == ["*"]


def test_no_cdn_serves_the_shared_files_which_go_only_by_presigned_urls(stack: Program) -> None:
    distributions = stack.of_type("aws:cloudfront/distribution:Distribution")
    files = stack.one("aws:s3/bucket:Bucket", "files").get("bucketRegionalDomainName")

    assert [d.name for d in distributions] == ["web-cdn"]
    assert all(o["domainName"] != files for d in distributions for o in d.get("origins"))


def test_cloudfront_reads_the_web_bucket_only_through_its_origin_access_control(
    stack: Program,
) -> None:
    for bucket, cdn in (("web", "web-cdn"),):
        distribution = stack.one("aws:cloudfront/distribution:Distribution", cdn)
        (origin,) = distribution.get("origins")
        assert origin["originAccessControlId"] == f"{cdn}-id"
        oac = stack.one("aws:cloudfront/originAccessControl:OriginAccessControl", cdn)
        assert oac.get("signingBehavior") == "always" and oac.get("signingProtocol") == "sigv4"
        assert (
            distribution.get("defaultCacheBehavior")["viewerProtocolPolicy"] == "redirect-to-https"
        )
        policy = json.loads(stack.one("aws:s3/bucketPolicy:BucketPolicy", cdn).get("policy"))
        (statement,) = policy["Statement"]
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert statement["Action"] == "s3:GetObject"
        assert statement["Condition"] == {
            "StringEquals": {"AWS:SourceArn": distribution.get("arn")}
        }
        assert stack.one("aws:s3/bucket:Bucket", bucket).get("arn") + "/*" == statement["Resource"]


def test_the_web_client_falls_back_to_index_html_and_reads_a_config_that_is_never_cached(
    stack: Program,
) -> None:
    web = stack.one("aws:cloudfront/distribution:Distribution", "web-cdn")
    assert web.get("defaultRootObject") == "index.html"
    fallback = {e["errorCode"]: e for e in web.get("customErrorResponses")}
    assert set(fallback) == {403, 404}
    assert all(
        e["responsePagePath"] == "/index.html" and e["responseCode"] == 200
        for e in fallback.values()
    )
    (uncached,) = web.get("orderedCacheBehaviors")
    assert uncached["pathPattern"] == "/config.json"


def test_a_ui_build_is_uploaded_with_its_content_types_beside_config_json(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    (tmp_path / "config.json").write_text("{}")  # a local build's config never ships
    program = run("dev", {"chat:uiBuildDir": str(tmp_path)})
    objects = {o.get("key"): o for o in program.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert set(objects) == {"index.html", "assets/app.js", "config.json"}
    assert objects["index.html"].get("contentType") == "text/html"
    assert "javascript" in objects["assets/app.js"].get("contentType")
    assert json.loads(objects["config.json"].get("content"))["region"] == "eu-west-1"


def test_without_a_ui_build_only_config_json_is_uploaded(dev: Program) -> None:
    objects = dev.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert [o.get("key") for o in objects] == ["config.json"]


def test_config_json_holds_the_local_stage_keys_with_this_stage_values(stack: Program) -> None:
    config = stack.one("aws:s3/bucketObjectv2:BucketObjectv2", "config.json")
    body = json.loads(config.get("content"))
    assert set(body) == LOCAL_CONFIG_KEYS
    assert body == {key: stack.outputs[key] for key in LOCAL_CONFIG_KEYS}
    assert config.get("bucket") == stack.one("aws:s3/bucket:Bucket", "web").get("bucket")


def test_the_outputs_use_the_local_stage_config_keys(stack: Program) -> None:
    assert set(stack.outputs) >= LOCAL_CONFIG_KEYS
    assert stack.outputs["region"] == "eu-west-1"
    assert stack.outputs["apiUrl"].startswith("https://")
    assert stack.outputs["cognitoEndpoint"] == "https://cognito-idp.eu-west-1.amazonaws.com"


def test_the_user_pool_signs_in_by_email_with_a_public_code_flow_client(stack: Program) -> None:
    pool = stack.one("aws:cognito/userPool:UserPool", "users")
    assert pool.get("aliasAttributes") == ["email"]
    assert pool.get("autoVerifiedAttributes") == ["email"]
    assert pool.get("passwordPolicy")["requireNumbers"] is True
    client = stack.one("aws:cognito/userPoolClient:UserPoolClient", "web")
    assert client.get("generateSecret") is False
    assert client.get("allowedOauthFlows") == ["code"]
    assert f"{stack.outputs['webUrl']}/" in client.get("callbackUrls")
    assert "ALLOW_REFRESH_TOKEN_AUTH" in client.get("explicitAuthFlows")
    groups = {g.get("name") for g in stack.of_type("aws:cognito/userGroup:UserGroup")}
    assert "admins" in groups
    domain = stack.one("aws:cognito/userPoolDomain:UserPoolDomain", "hosted")
    assert domain.get("domain") == f"chat-{stack.stack}-123456789012"  # unique per account


def test_no_social_provider_exists_unless_configured(stack: Program) -> None:
    assert stack.of_type("aws:cognito/identityProvider:IdentityProvider") == []
    client = stack.one("aws:cognito/userPoolClient:UserPoolClient", "web")
    assert client.get("supportedIdentityProviders") == ["COGNITO"]


def test_a_configured_social_provider_receives_its_secret_as_a_pulumi_secret() -> None:
    program = run(
        "prod",
        {
            **NO_UI_BUILD,
            "chat:googleClientId": "google-client",
            "chat:googleClientSecret": "very-secret",
        },
    )
    google = program.one("aws:cognito/identityProvider:IdentityProvider", "google")
    details = google.inputs["providerDetails"]
    assert is_secret(details) or is_secret(details.get("client_secret"))
    assert google.get("providerDetails")["client_id"] == "google-client"
    client = program.one("aws:cognito/userPoolClient:UserPoolClient", "web")
    assert client.get("supportedIdentityProviders") == ["COGNITO", "Google"]


def test_alarms_watch_every_dlq_the_stream_age_every_function_and_the_apis(stack: Program) -> None:
    alarms = {a.name: a for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    topic = stack.one("aws:sns/topic:Topic", "alarms").get("arn")
    dead_letter_queues = current().dead_letter_queues()
    assert dead_letter_queues == {"projector-dlq", "broadcast-dlq", "room-events-dlq"}
    for queue in dead_letter_queues:
        dlq = alarms[f"{queue}-not-empty"]
        assert dlq.get("metricName") == "ApproximateNumberOfMessagesVisible"
        assert dlq.get("threshold") == 0 and dlq.get("comparisonOperator") == "GreaterThanThreshold"
    # Room events pass through their queue all the time: only a late one is news.
    assert "room-events-not-empty" not in alarms
    late = alarms["room-events-late"]
    assert late.get("metricName") == "ApproximateAgeOfOldestMessage" and late.get("threshold") == 60
    assert alarms["projector-iterator-age"].get("metricName") == "IteratorAge"
    for function in stack.of_type("aws:lambda/function:Function"):
        assert f"{function.name}-errors" in alarms and f"{function.name}-throttles" in alarms
    assert alarms["http-5xx"].get("metricName") == "5xx"
    assert all(a.get("alarmActions") == [topic] for a in alarms.values())
    dashboard = json.loads(
        stack.one("aws:cloudwatch/dashboard:Dashboard", "dashboard").get("dashboardBody")
    )
    assert len(dashboard["widgets"]) >= 5


def test_every_resource_belongs_to_a_chat_component(stack: Program) -> None:
    for resource in stack.resources:
        if resource.custom:
            assert component_of(stack, resource).startswith("chat:index:"), resource.urn
        else:
            assert resource.type.startswith("chat:index:")
            assert resource.parent.split("::")[2] == "pulumi:pulumi:Stack"


def test_names_derive_from_the_stack_so_two_stages_share_an_account(
    dev: Program, prod: Program
) -> None:
    def physical(program: Program) -> set[str]:
        return {
            str(r.get("name"))
            for r in program.resources
            if r.custom and isinstance(r.get("name"), str) and r.get("name")
        }

    for program in (dev, prod):
        for alarm in program.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
            assert alarm.get("name") == f"chat-{program.stack}-{alarm.name}"
    shared = physical(dev) & physical(prod)
    # Only names scoped inside their own stage's resources may repeat (routes, groups, stages).
    assert all(not name.startswith("chat-") and "/chat-" not in name for name in shared), shared


def test_prod_protects_data_requires_mfa_keeps_logs_longer_and_mails_alarms(prod: Program) -> None:
    for table in prod.of_type("aws:dynamodb/table:Table"):
        assert table.get("deletionProtectionEnabled") is True
    assert prod.one("aws:dynamodb/table:Table", "views").get("pointInTimeRecovery") == {
        "enabled": True
    }
    pool = prod.one("aws:cognito/userPool:UserPool", "users")
    assert pool.get("mfaConfiguration") == "ON"
    assert pool.get("deletionProtection") == "ACTIVE"
    assert pool.get("passwordPolicy")["minimumLength"] >= 12
    assert {g.get("retentionInDays") for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")} == {
        90
    }
    (mail,) = prod.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert mail.get("protocol") == "email" and "@" in mail.get("endpoint")
    for bucket in prod.of_type("aws:s3/bucket:Bucket"):
        assert bucket.get("forceDestroy") is (bucket.name != "files")


def test_dev_has_none_of_the_prod_only_settings(dev: Program) -> None:
    for table in dev.of_type("aws:dynamodb/table:Table"):
        assert table.get("deletionProtectionEnabled") is False
    assert dev.one("aws:dynamodb/table:Table", "views").get("pointInTimeRecovery") == {
        "enabled": False
    }
    pool = dev.one("aws:cognito/userPool:UserPool", "users")
    assert pool.get("mfaConfiguration") == "OPTIONAL"
    assert pool.get("deletionProtection") == "INACTIVE"
    assert {g.get("retentionInDays") for g in dev.of_type("aws:cloudwatch/logGroup:LogGroup")} == {
        14
    }
    assert dev.of_type("aws:sns/topicSubscription:TopicSubscription") == []


def test_prod_throttles_harder_than_dev(dev: Program, prod: Program) -> None:
    for stage in ("http", "websocket"):
        dev_limits = dev.one("aws:apigatewayv2/stage:Stage", stage).get("defaultRouteSettings")
        prod_limits = prod.one("aws:apigatewayv2/stage:Stage", stage).get("defaultRouteSettings")
        assert prod_limits["throttlingRateLimit"] < dev_limits["throttlingRateLimit"]
        assert prod_limits["throttlingBurstLimit"] < dev_limits["throttlingBurstLimit"]


def test_a_custom_domain_is_served_only_when_configured(prod: Program) -> None:
    assert prod.one("aws:cloudfront/distribution:Distribution", "web-cdn").get("aliases") == []
    program = run(
        "prod",
        {
            **NO_UI_BUILD,
            "chat:domainName": "chat.example.com",
            "chat:certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        },
    )
    web = program.one("aws:cloudfront/distribution:Distribution", "web-cdn")
    assert web.get("aliases") == ["chat.example.com"]
    assert web.get("viewerCertificate")["sslSupportMethod"] == "sni-only"
    assert program.outputs["webUrl"] == "https://chat.example.com"


def test_the_default_web_build_folder_is_where_ng_build_puts_the_client() -> None:
    angular = json.loads((packaging.ROOT / "ui" / "angular.json").read_text())
    ((name, project),) = angular["projects"].items()
    build = project["architect"]["build"]
    assert build["builder"] == "@angular/build:application"  # it writes <outputPath>/browser
    output = build.get("options", {}).get("outputPath", f"dist/{name}")
    assert StageSettings(prefix="", region="").ui_build_dir == f"ui/{output}/browser"
