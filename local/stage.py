"""The local stage: moto (with the topology provisioned), a Cognito pool, the gateway on one
origin and the event-source pumps. `python -m local.stage` is `make dev`; tests use `LocalStage`
as a context manager and it stops everything it started."""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import uvicorn
from botocore.credentials import Credentials

from adapters.aws import client
from components.topology import (
    BUS_RULES,
    EVENTS,
    QUEUE_MAPPINGS,
    STREAM_MAPPINGS,
    physical_name,
)
from domain.limits import MAX_MESSAGE_BYTES
from local import chaos as failure_modes
from local import endpoints
from local.chaos import OFF, Chaos
from local.gateway import Gateway, create_app, ui_build
from local.lambdas import FunctionLogs, Lambdas
from local.moto_process import free_port, moto_server
from local.persistence import LocalState
from local.provision import Stage as Provisioned
from local.provision import provision
from local.pumps import BusPump, Invoke, QueuePump, StreamPump, bus_target_queue
from local.quiet_gc import keep_collections_quiet
from local.streams import StreamReader

REGION = "us-east-1"
STATE_DIR = Path(".local")
STRUCK_FILE = "chaos-struck.json"  # what a hostile stage has played so far, by kind
DEMO_USERS = {"alice": "Alice-password-1", "bob": "Bob-password-1", "carol": "Carol-password-1"}


class LocalStage:
    def __init__(
        self,
        port: int = 0,
        prefix: str = "chat-local",
        state_dir: Path | None = None,
        quiet_collections: bool = False,
        chaos: Chaos = OFF,
    ) -> None:
        # quiet_collections: this process is the stage's own (`make dev`, a benchmark), so Python's
        # full collections are kept from pausing it (local/quiet_gc.py); a test process is not.
        self.quiet_collections = quiet_collections
        # chaos: the failure modes of AWS that this stage plays (local/chaos.py); none by default
        self.chaos = chaos
        self.state = LocalState(state_dir) if state_dir else None
        self.port = port or free_port()
        self.prefix = prefix
        self.base = f"http://127.0.0.1:{self.port}"
        self._exit = ExitStack()
        self._threads: list[Any] = []
        self._saved_env: dict[str, str | None] = {}
        self.config: dict[str, Any] = {}
        self.lambdas = Lambdas()

    def __enter__(self) -> LocalStage:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        if self.state:
            self._logs = FunctionLogs(sys.stdout, self.state.folder / "logs")
            self._stdout, sys.stdout = sys.stdout, self._logs
        # With a state folder, DynamoDB keeps the events table in it: every change written
        # before it is acknowledged, the saved items put back when the table is created.
        journal = (
            (self.state.events_log, physical_name(self.prefix, EVENTS)) if self.state else None
        )
        moto_url = self._exit.enter_context(
            moto_server(
                dynamodb_apart=True,
                journal=journal,
                chaos=self.chaos,
                secrets_folder=self.state.folder if self.state else None,
            )
        )
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
                # With a state folder the functions' output goes to its logs/ (see FunctionLogs);
                # without one (tests) it would be console noise: warnings only, no metrics.
                "POWERTOOLS_METRICS_DISABLED": os.environ.get(
                    "POWERTOOLS_METRICS_DISABLED", "false" if self.state else "true"
                ),
                "POWERTOOLS_LOG_LEVEL": os.environ.get(
                    "POWERTOOLS_LOG_LEVEL", "INFO" if self.state else "WARNING"
                ),
            }
        )
        self.events_table = stage.tables["events"]
        restored = (
            self.state.restore_views(stage.tables["events"], stage.tables["views"])
            if self.state
            else 0
        )
        self.restored = restored
        self.config = {
            "apiUrl": f"{self.base}/api",
            "wsUrl": f"ws://127.0.0.1:{self.port}/ws",
            "region": REGION,
            "userPoolId": pool_id,
            "userPoolClientId": self.client_id,
            "cognitoEndpoint": f"{self.base}/cognito",
        }
        # Everyone who could sign in before can as soon as the stage answers.
        known = {saved["username"] for saved in self.state.users()} if self.state else set()
        for user, password in DEMO_USERS.items():
            if user not in known:
                self.add_user(user, password)
        for saved in self.state.users() if self.state else []:
            self.add_user(saved["username"], saved["password"], saved["attributes"])
        stream_pumps = self._start_pumps(stage, from_now=restored > 0)
        gateway = Gateway(
            self.config,
            cognito_upstream=moto_url,
            on_sign_up=self._signed_up,
            on_invoked=lambda: wake(stream_pumps),
            lambdas=self.lambdas,
            chaos=self.chaos,
            credentials=Credentials(
                os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
            ),
        )
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(gateway, ui_build()),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                ws_max_size=MAX_MESSAGE_BYTES,  # API Gateway's 128 KB message limit
                ws_per_message_deflate=False,  # API Gateway negotiates no compression
            )
        )
        thread = threading.Thread(target=server.run, daemon=True, name="gateway")
        thread.start()
        self._gateway_thread = thread
        self._server = server
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.05)
        if self.quiet_collections:
            keep_collections_quiet()
        if self.state:  # how `chat --local` finds this stage (local/endpoints.py)
            endpoints.record(
                self.state.folder,
                endpoints.Endpoints(
                    os.getpid(), self.prefix, stage.tables, endpoints.aws_variables(), self.base
                ),
            )

    def _start_pumps(self, stage: Provisioned, from_now: bool) -> list[StreamPump]:
        """The event-source mappings and the bus rules' targets, running before any request; the
        stream pumps, which the gateway wakes after its calls (the queue pumps are woken when the
        projector returns, the only function that sends them anything)."""
        sqs = client("sqs")

        def invoke(function: str) -> Invoke:  # as an event source invokes it, failures and all
            return self.chaos.invoking(functools.partial(self.lambdas.call, function))

        queue_pumps = [
            QueuePump(mapping, stage.queues[mapping.queue], invoke(mapping.function))
            for mapping in QUEUE_MAPPINGS
        ]
        stream_pumps = []
        for mapping in STREAM_MAPPINGS:
            dlq = stage.queues[mapping.on_failure_queue]
            pump = StreamPump(
                mapping,
                # from_now: a restored log is already in the views
                StreamReader(stage.stream_arns[mapping.table], from_now=from_now),
                # the queue pumps look at once for what the projector sent them
                functools.partial(invoke_then_wake, invoke(mapping.function), queue_pumps),
                functools.partial(send_to_queue, sqs, dlq),
            )
            stream_pumps.append(pump)
        bus_pumps = [
            BusPump(
                rule,
                bus_target_queue(rule, stage.bus, self.prefix),
                stage.queues[rule.dead_letter_queue],
                invoke(rule.function),
                chaos=self.chaos,
            )
            for rule in BUS_RULES
        ]
        pumps: list[StreamPump | QueuePump | BusPump] = [*stream_pumps, *queue_pumps, *bus_pumps]
        for each in pumps:
            each.start()
            self._threads.append(each)
        return stream_pumps

    def _setenv(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _signed_up(self, user: str, password: str, attributes: list[dict[str, str]]) -> None:
        """Local sign-ups are confirmed at once (there is no mail to click), and remembered."""
        client("cognito-idp").admin_confirm_sign_up(UserPoolId=self.pool_id, Username=user)
        if self.state:
            self.state.remember_user(user, password, attributes)

    def add_user(
        self, user: str, password: str, attributes: list[dict[str, str]] | None = None
    ) -> None:
        cognito = client("cognito-idp")
        cognito.sign_up(
            ClientId=self.client_id,
            Username=user,
            Password=password,
            UserAttributes=attributes or [],
        )
        cognito.admin_confirm_sign_up(UserPoolId=self.pool_id, Username=user)

    def sign_in(self, user: str, password: str | None = None) -> dict[str, str]:
        result = client("cognito-idp").initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user, "PASSWORD": password or DEMO_USERS[user]},
        )["AuthenticationResult"]
        return dict(result)

    def __exit__(self, *_: object) -> None:
        try:
            if self.state:  # stopping: `chat --local` no longer finds it
                endpoints.remove(self.state.folder)
            # Requests first (nothing writes after this), then the pumps; the DynamoDB server
            # compacts the events table's journal when it is stopped.
            if hasattr(self, "_server"):
                self._server.should_exit = True
                self._gateway_thread.join(timeout=10)
            for thread in self._threads:
                thread.stopped.set()
            for thread in self._threads:
                thread.join(timeout=5)
        finally:
            self._exit.close()
            if hasattr(self, "_logs"):
                sys.stdout = self._stdout
                self._logs.close()
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def wake(pumps: Sequence[StreamPump | QueuePump]) -> None:
    for pump in pumps:
        pump.wake.set()


def invoke_then_wake(invoke: Invoke, pumps: list[QueuePump], event: dict[str, Any]) -> Any:
    try:
        return invoke(event)
    finally:
        wake(pumps)


def send_to_queue(sqs: Any, queue_url: str, record: dict[str, Any]) -> None:
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))


def main() -> None:
    parser = argparse.ArgumentParser(description="run the local stage")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--state", type=Path, default=STATE_DIR, help="where the log and the users are kept"
    )
    args = parser.parse_args()
    chaos = failure_modes.from_environment()
    with LocalStage(
        port=args.port, state_dir=args.state, quiet_collections=True, chaos=chaos
    ) as stage:
        print(f"chat local stage on {stage.base}  (config: {stage.base}/config.json)")
        print(f"log and users kept in {args.state.resolve()} ({stage.restored} events restored)")
        print(f"functions' logs and metrics in {(args.state / 'logs').resolve()}/<function>.log")
        print("demo users: " + ", ".join(f"{u} / {p}" for u, p in DEMO_USERS.items()))
        if chaos.on:
            print(f"hostile: AWS's failure modes are on ({failure_modes.ENV}, local/chaos.py)")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        parent = os.getppid()
        # Killed alone, whoever started this stage (a benchmark, a test) leaves it orphaned: it
        # stops then, rather than run on unwatched.
        while not stop.wait(1.0) and os.getppid() == parent:
            if chaos.on:
                failure_modes.save_struck(args.state / STRUCK_FILE)
    print("stopped")


if __name__ == "__main__":
    main()
