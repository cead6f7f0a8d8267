"""A stage's settings, read from the Pulumi stack config (defaults and types: Pulumi.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class SocialProvider:
    name: str  # "Google" or "Facebook", as Cognito spells the provider
    client_id: str
    client_secret: pulumi.Output[str]  # always a Pulumi secret


@dataclass(frozen=True)
class StageSettings:
    prefix: str  # "<project>-<stack>": every physical name starts with it
    region: str
    log_retention_days: int = 14
    log_level: str = "INFO"
    metrics_namespace: str = "Chat"
    deletion_protection: bool = False
    point_in_time_recovery: bool = False  # rebuildable tables; the log always has it
    mfa: str = "OPTIONAL"
    password_min_length: int = 8
    alarm_email: str = ""
    throttle_burst: int = 500
    throttle_rate: float = 1000.0
    cors_origins: tuple[str, ...] = ()
    callback_urls: tuple[str, ...] = ()
    domain_name: str = ""
    certificate_arn: str = ""
    auth_domain_prefix: str = ""
    bus_archive_retention_days: int = 30
    iterator_age_alarm_s: int = 60
    architecture: str = "arm64"
    manage_api_gateway_account: bool = False
    noncurrent_file_days: int = 30
    ui_build_dir: str = "ui/dist/ui/browser"  # where `ng build` puts index.html
    social: tuple[SocialProvider, ...] = field(default_factory=tuple)


def _social(config: pulumi.Config) -> tuple[SocialProvider, ...]:
    """Providers appear only when both their id and their (secret) client secret are configured."""
    found = []
    for name, id_key, secret_key in (
        ("Google", "googleClientId", "googleClientSecret"),
        ("Facebook", "facebookAppId", "facebookAppSecret"),
    ):
        client_id = config.get(id_key)
        secret = config.get_secret(secret_key)
        if client_id and secret is not None:
            found.append(SocialProvider(name, client_id, secret))
    return tuple(found)


def load() -> StageSettings:
    config = pulumi.Config()
    aws = pulumi.Config("aws")
    defaults = StageSettings(prefix="", region="")
    return StageSettings(
        prefix=f"{pulumi.get_project()}-{pulumi.get_stack()}",
        region=aws.require("region"),
        log_retention_days=config.get_int("logRetentionDays") or defaults.log_retention_days,
        log_level=config.get("logLevel") or defaults.log_level,
        metrics_namespace=config.get("metricsNamespace") or defaults.metrics_namespace,
        deletion_protection=bool(config.get_bool("deletionProtection")),
        point_in_time_recovery=bool(config.get_bool("pointInTimeRecovery")),
        mfa=config.get("mfa") or defaults.mfa,
        password_min_length=config.get_int("passwordMinLength") or defaults.password_min_length,
        alarm_email=config.get("alarmEmail") or "",
        throttle_burst=config.get_int("throttleBurst") or defaults.throttle_burst,
        throttle_rate=config.get_int("throttleRate") or defaults.throttle_rate,
        cors_origins=tuple(config.get_object("corsOrigins") or ()),
        callback_urls=tuple(config.get_object("callbackUrls") or ()),
        domain_name=config.get("domainName") or "",
        certificate_arn=config.get("certificateArn") or "",
        auth_domain_prefix=config.get("authDomainPrefix") or "",
        bus_archive_retention_days=config.get_int("busArchiveRetentionDays")
        or defaults.bus_archive_retention_days,
        iterator_age_alarm_s=config.get_int("iteratorAgeAlarmSeconds")
        or defaults.iterator_age_alarm_s,
        architecture=config.get("architecture") or defaults.architecture,
        manage_api_gateway_account=bool(config.get_bool("manageApiGatewayAccount")),
        noncurrent_file_days=config.get_int("noncurrentFileDays") or defaults.noncurrent_file_days,
        ui_build_dir=config.get("uiBuildDir") or defaults.ui_build_dir,
        social=_social(config),
    )
