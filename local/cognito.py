"""Amazon Cognito user pools' public API, as a browser reaches it: a pass-through to the local
pool (moto) that lets through only the calls a public app client may make (the rest needs IAM
credentials), named by exactly one `X-Amz-Target` and forwarded with that header and the body
alone, only the sign-in flows the app client allows (moto checks neither a client's flows nor an
SRP proof, and takes any code to reset a password: those calls are not passed on), refuses bodies
over 1 MB, and confirms every sign-up at once, as a pool with an
auto-confirming pre-sign-up trigger does. Sign-ups are handed to `on_sign_up` so that the users
survive a restart (Cognito never gives a password back)."""

from __future__ import annotations

import json
from collections.abc import Callable

import requests
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from local.request_body import body_within

MAX_COGNITO_BODY_BYTES = 1024 * 1024
AMZ_JSON = "application/x-amz-json-1.1"

SignUps = Callable[[str, str, list[dict[str, str]]], None]

# The Cognito calls a browser makes against a public client; the rest needs IAM credentials.
COGNITO_PUBLIC_TARGETS = frozenset(
    f"AWSCognitoIdentityProviderService.{action}"
    for action in (
        "SignUp",
        "ConfirmSignUp",
        "ResendConfirmationCode",
        "InitiateAuth",
        "RespondToAuthChallenge",
        "AssociateSoftwareToken",
        "VerifySoftwareToken",
        "GetUser",
        "GlobalSignOut",
        "RevokeToken",
        "ChangePassword",
    )
)


# The flows the app client allows (local/stage.py): moto checks neither the client's allowed flows
# nor an SRP password verifier's signature, so USER_SRP_AUTH signed anyone in without a password.
ALLOWED_AUTH_FLOWS = frozenset({"USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"})
# The challenges moto answers only with the right proof.
ALLOWED_CHALLENGES = frozenset({"NEW_PASSWORD_REQUIRED", "SOFTWARE_TOKEN_MFA", "MFA_SETUP"})


def refusal(target: str, body: bytes) -> str | None:
    """Why a public call is refused before it reaches the pool, or None."""
    action = target.rpartition(".")[2]
    if action not in ("InitiateAuth", "RespondToAuthChallenge"):
        return None
    try:
        call = json.loads(body)
    except ValueError:
        return "the body is not JSON"
    if not isinstance(call, dict):
        return "the body is not a JSON object"
    if action == "InitiateAuth" and call.get("AuthFlow") not in ALLOWED_AUTH_FLOWS:
        return f"{call.get('AuthFlow')} is not enabled for this client"
    if action == "RespondToAuthChallenge" and call.get("ChallengeName") not in ALLOWED_CHALLENGES:
        return f"{call.get('ChallengeName')} is not enabled for this client"
    return None


class Cognito:
    def __init__(self, upstream: str = "", on_sign_up: SignUps | None = None) -> None:
        self.upstream = upstream  # the local pool's endpoint (moto)
        self.on_sign_up = on_sign_up  # confirms (and may remember) a new user

    async def handle(self, request: Request) -> Response:
        """Cognito's API, passed through to the local pool; sign-ups are remembered so that the
        users survive a restart (Cognito never gives a password back)."""
        targets = request.headers.getlist("x-amz-target")
        if len(targets) != 1:  # the check and the pool must read the same one
            return JSONResponse(
                {"__type": "InvalidParameterException", "message": "one X-Amz-Target, please"},
                status_code=400,
            )
        (target,) = targets
        if target not in COGNITO_PUBLIC_TARGETS:
            return JSONResponse(
                {"__type": "NotAuthorizedException", "message": f"{target} needs credentials"},
                status_code=400,
            )
        body = await body_within(request, MAX_COGNITO_BODY_BYTES)
        if body is None:
            return JSONResponse(
                {"__type": "InvalidParameterException", "message": "request too large"},
                status_code=400,
            )
        refused = refusal(target, body)
        if refused is not None:
            return JSONResponse(
                {"__type": "InvalidParameterException", "message": refused}, status_code=400
            )
        # Only what was checked goes on: nothing else of the caller's reaches the pool.
        headers = {"X-Amz-Target": target, "Content-Type": AMZ_JSON}
        answer = await run_in_threadpool(
            requests.post, self.upstream + "/", data=body, headers=headers, timeout=30
        )
        content = answer.content
        if answer.status_code == 200 and target.endswith(".SignUp") and self.on_sign_up:
            signed_up = json.loads(body)
            await run_in_threadpool(
                self.on_sign_up,
                signed_up["Username"],
                signed_up["Password"],
                signed_up.get("UserAttributes", []),
            )
            # As a pool with an auto-confirming pre-sign-up trigger answers.
            content = json.dumps({**answer.json(), "UserConfirmed": True}).encode()
        passed = {
            k: v
            for k, v in answer.headers.items()
            if k.lower().startswith(("content-type", "x-amz"))
        }
        return Response(content, answer.status_code, passed)
