"""WebSocket $connect REQUEST authorizer: the Cognito JWT the client offered as a subprotocol
(functions/ws/handshake.py), or gave in `?token=`, decides."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.tokens import CognitoVerifier, InvalidToken, verifier_from_environment
from functions.composition import Root
from functions.ws.handshake import token_of

logger = Logger(service="ws-authorizer")


def policy(user_id: str, method_arn: str) -> dict[str, Any]:
    """Allow this connection; later routes see `user_id` in requestContext.authorizer."""
    return {
        "principalId": user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}
            ],
        },
        "context": {"user_id": user_id},
    }


root = Root(verifier_from_environment)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, root())


def handle(event: dict[str, Any], verifier: CognitoVerifier) -> dict[str, Any]:
    token = token_of(event.get("headers"), event.get("queryStringParameters"))
    try:
        identity = verifier.verify(token)
    except InvalidToken as refused:
        logger.info("connection refused", reason=refused.message)
        # API Gateway answers 401 to the client when an authorizer raises exactly this.
        raise Exception("Unauthorized") from None
    return policy(identity.user_id, event["methodArn"])
