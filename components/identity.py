"""Cognito: the user pool (email sign-in, password policy, MFA, groups), the web client's public app
client with the OAuth code flow, the hosted domain, and social providers when configured."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import SocialProvider

GROUPS = ("admins", "moderators")
SCOPES = {"Google": "openid email profile", "Facebook": "public_profile,email"}
ATTRIBUTES = {
    "Google": {"email": "email", "name": "name", "username": "sub"},
    "Facebook": {"email": "email", "name": "name", "username": "id"},
}


@dataclass
class IdentityArgs:
    prefix: str
    region: str
    mfa: str  # "OPTIONAL" (dev) or "ON" (prod)
    password_min_length: int
    deletion_protection: bool
    callback_urls: pulumi.Input[list[str]]
    domain_prefix: pulumi.Input[str]
    social: tuple[SocialProvider, ...]


class Identity(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("chat:index:Identity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.pool = aws.cognito.UserPool(
            "users",
            name=f"{args.prefix}-users",
            # People sign up with a user name (their chat id) and sign in with it or their email.
            alias_attributes=["email"],
            auto_verified_attributes=["email"],
            username_configuration={"case_sensitive": False},
            password_policy={
                "minimum_length": args.password_min_length,
                "require_lowercase": True,
                "require_uppercase": True,
                "require_numbers": True,
                "require_symbols": False,
                "temporary_password_validity_days": 3,
            },
            mfa_configuration=args.mfa,
            software_token_mfa_configuration={"enabled": True},
            account_recovery_setting={
                "recovery_mechanisms": [{"name": "verified_email", "priority": 1}]
            },
            deletion_protection="ACTIVE" if args.deletion_protection else "INACTIVE",
            opts=child,
        )
        for group in GROUPS:
            aws.cognito.UserGroup(group, name=group, user_pool_id=self.pool.id, opts=child)
        providers = [self._social_provider(p, child) for p in args.social]
        self.client = aws.cognito.UserPoolClient(
            "web",
            name=f"{args.prefix}-web",
            user_pool_id=self.pool.id,
            generate_secret=False,  # a browser cannot keep one
            explicit_auth_flows=[
                "ALLOW_USER_SRP_AUTH",
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
            ],
            prevent_user_existence_errors="ENABLED",
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["code"],
            allowed_oauth_scopes=["openid", "email", "profile"],
            callback_urls=args.callback_urls,
            logout_urls=args.callback_urls,
            supported_identity_providers=["COGNITO", *(p.name for p in args.social)],
            access_token_validity=60,
            id_token_validity=60,
            refresh_token_validity=30,
            token_validity_units={
                "access_token": "minutes",
                "id_token": "minutes",
                "refresh_token": "days",
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=providers),
        )
        self.domain = aws.cognito.UserPoolDomain(
            "hosted",
            domain=args.domain_prefix,
            user_pool_id=self.pool.id,
            opts=child,
        )
        self.issuer = pulumi.Output.concat(
            "https://cognito-idp.", args.region, ".amazonaws.com/", self.pool.id
        )
        self.endpoint = f"https://cognito-idp.{args.region}.amazonaws.com"
        self.hosted_domain = pulumi.Output.concat(
            self.domain.domain, ".auth.", args.region, ".amazoncognito.com"
        )
        self.register_outputs(
            {"user_pool_id": self.pool.id, "client_id": self.client.id, "issuer": self.issuer}
        )

    def _social_provider(
        self, provider: SocialProvider, child: pulumi.ResourceOptions
    ) -> aws.cognito.IdentityProvider:
        return aws.cognito.IdentityProvider(
            provider.name.lower(),
            user_pool_id=self.pool.id,
            provider_name=provider.name,
            provider_type=provider.name,
            provider_details={
                "client_id": provider.client_id,
                "client_secret": provider.client_secret,
                "authorize_scopes": SCOPES[provider.name],
            },
            attribute_mapping=ATTRIBUTES[provider.name],
            opts=child,
        )
