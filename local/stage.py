"""The local stage: moto (with the topology provisioned), a Cognito pool, the gateway on one
origin and the event-source pumps. `python -m local.stage` is `make dev`; tests use `LocalStage`
as a context manager and it stops everything it started."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import threading
import time
from contextlib import ExitStack
from typing import Any

import uvicorn

from adapters.aws import client
from adapters.tokens import CognitoVerifier
from components.topology import BUS_RULES, FUNCTIONS, STREAM_MAPPINGS
from local.gateway import Gateway, create_app, handler
from local.moto_process import free_port, moto_server
from local.provision import provision
from local.pumps import BusPump, StreamPump, bus_target_queue

REGION = "us-east-1"
DEMO_USERS = {"alice": "Alice-password-1", "bob": "Bob-password-1", "carol": "Carol-password-1"}


def reset_functions() -> None:
    """Drop what the functions cached from another stage (clients bound to other tables)."""
    for function in FUNCTIONS:
        module = importlib.import_module(function.handler.rpartition(".")[0])
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
    handler.cache_clear()


class LocalStage:
    def __init__(self, port: int = 0, prefix: str = "chat-local") -> None:
        self.port = port or free_port()
        self.prefix = prefix
        self.base = f"http://127.0.0.1:{self.port}"
        self._exit = ExitStack()
        self._threads: list[Any] = []
        self._saved_env: dict[str, str | None] = {}
        self.config: dict[str, Any] = {}

    def __enter__(self) -> LocalStage:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        moto_url = self._exit.enter_context(moto_server())
        stage = provision(self.prefix)
        cognito = client("cognito-idp")
        pool_id = cognito.create_user_pool(
            PoolName=self.prefix,
            Policies={"PasswordPolicy": {"MinimumLength": 8, "RequireNumbers": True}},
        )["UserPool"]["Id"]
        self.client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="web",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        self.pool_id = pool_id
        issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
        jwks = f"{moto_url}/{pool_id}/.well-known/jwks.json"
        self._setenv(
            {
                **stage.env(),
                "COGNITO_ISSUER": issuer,
                "COGNITO_CLIENT_ID": self.client_id,
                "COGNITO_JWKS_URL": jwks,
                "WS_MANAGEMENT_ENDPOINT": self.base,
                "FILES_UPLOAD_URL": f"{self.base}/s3",
                "POWERTOOLS_METRICS_NAMESPACE": "ChatLocal",
                # Metrics are CloudWatch EMF lines on stdout: noise on a developer's console.
                "POWERTOOLS_METRICS_DISABLED": os.environ.get(
                    "POWERTOOLS_METRICS_DISABLED", "true"
                ),
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            }
        )
        reset_functions()
        self.config = {
            "apiUrl": f"{self.base}/api",
            "wsUrl": f"ws://127.0.0.1:{self.port}/ws",
            "region": REGION,
            "userPoolId": pool_id,
            "userPoolClientId": self.client_id,
            "cognitoEndpoint": moto_url,
        }
        gateway = Gateway(CognitoVerifier(issuer, self.client_id, jwks), self.config)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(gateway), host="127.0.0.1", port=self.port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True, name="gateway")
        thread.start()
        self._server = server
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.05)
        for mapping in STREAM_MAPPINGS:
            pump = StreamPump(
                mapping, stage.events_stream_arn, stage.queues[mapping.on_failure_queue]
            )
            pump.start()
            self._threads.append(pump)
        for rule in BUS_RULES:
            target = bus_target_queue(
                rule, stage.bus, self.prefix, stage.queues[rule.dead_letter_queue]
            )
            bus_pump = BusPump(rule, target)
            bus_pump.start()
            self._threads.append(bus_pump)
        confirmer = threading.Thread(target=self._confirm_sign_ups, daemon=True, name="confirm")
        self._confirming = threading.Event()
        confirmer.start()
        for user, password in DEMO_USERS.items():
            self.add_user(user, password)

    def _setenv(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _confirm_sign_ups(self) -> None:
        """Local sign-ups are confirmed at once (there is no mail to click)."""
        cognito = client("cognito-idp")
        while not self._confirming.wait(0.2):
            try:
                users = cognito.list_users(UserPoolId=self.pool_id)["Users"]
                for user in users:
                    if user["UserStatus"] == "UNCONFIRMED":
                        cognito.admin_confirm_sign_up(
                            UserPoolId=self.pool_id, Username=user["Username"]
                        )
            except Exception:
                continue

    def add_user(self, user: str, password: str) -> None:
        cognito = client("cognito-idp")
        cognito.sign_up(ClientId=self.client_id, Username=user, Password=password)
        cognito.admin_confirm_sign_up(UserPoolId=self.pool_id, Username=user)

    def sign_in(self, user: str, password: str | None = None) -> dict[str, str]:
        result = client("cognito-idp").initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user, "PASSWORD": password or DEMO_USERS[user]},
        )["AuthenticationResult"]
        return dict(result)

    def __exit__(self, *_: object) -> None:
        if hasattr(self, "_confirming"):
            self._confirming.set()
        for pump in self._threads:
            pump.stopped.set()
        if hasattr(self, "_server"):
            self._server.should_exit = True
        for pump in self._threads:
            pump.join(timeout=5)
        self._exit.close()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main() -> None:
    parser = argparse.ArgumentParser(description="run the local stage")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with LocalStage(port=args.port) as stage:
        print(f"chat local stage on {stage.base}  (config: {stage.base}/config.json)")
        print("demo users: " + ", ".join(f"{u} / {p}" for u, p in DEMO_USERS.items()))
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
    print("stopped")


if __name__ == "__main__":
    main()
