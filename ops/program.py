"""Runs the real Pulumi program (`__main__.py`) under `pulumi.runtime.set_mocks`: no CLI, no cloud,
no credentials. The stack's config comes from Pulumi.yaml's defaults and Pulumi.<stack>.yaml, as
the CLI would give it. Every registered resource is recorded with its parent, inputs and the
outputs the mocks made up, for `chat plan` and tests/infra."""

from __future__ import annotations

import asyncio
import json
import runpy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml  # type: ignore[import-untyped]  # PyYAML comes with pulumi
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components import packaging

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "chat"
ACCOUNT = "123456789012"
SECRET_PLACEHOLDER = "[secret]"
BUCKET = "aws:s3/bucket:Bucket"


@dataclass
class Registered:
    urn: str
    type: str
    name: str
    parent: str  # the parent's URN ("" for the stack's children)
    custom: bool
    inputs: dict[str, Any]  # as the program set them (engine names), plus made-up outputs

    def get(self, key: str, default: Any = None) -> Any:
        return unwrap(self.inputs.get(key, default))


@dataclass
class Program:
    stack: str
    resources: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> Registered:
        found = [r for r in self.of_type(type_) if r.name == name]
        assert len(found) == 1, f"{len(found)} {type_} named {name}"
        return found[0]

    def children(self, parent: Registered) -> list[Registered]:
        return [r for r in self.resources if r.parent == parent.urn]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def unwrap(value: Any) -> Any:
    """The value with Pulumi's secret wrappers taken off, at any depth."""
    if is_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value


def stack_config(stack: str, root: Path = ROOT) -> tuple[dict[str, str], list[str]]:
    """The config the CLI would hand the program: project defaults overlaid by the stack file.
    Encrypted (`secure:`) values cannot be read without the stack's key: they become placeholders,
    still marked secret."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    values: dict[str, Any] = {}
    secrets: list[str] = []
    for key, spec in (project.get("config") or {}).items():
        name = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(spec, dict) and "default" in spec:
            values[name] = spec["default"]
            if spec.get("secret"):
                secrets.append(name)
    stack_file = root / f"Pulumi.{stack}.yaml"
    stack_values = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    for key, value in stack_values.items():
        name = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and "secure" in value:
            values[name] = SECRET_PLACEHOLDER
            secrets.append(name)
        else:
            values[name] = value
    return {key: _text(value) for key, value in values.items()}, secrets


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class _Mocks(pulumi.runtime.Mocks):
    """Made-up but well-formed outputs: ARNs, endpoints and domain names the program reads."""

    def __init__(self, region: str) -> None:
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id = f"{args.name}-id".replace(" ", "_").replace("/", "_")
        # What the program set always wins over what the mocks make up.
        state = {**_made_up(args.typ, resource_id, args.inputs, self), **args.inputs}
        # A bucket's id is its name, as on AWS.
        return state.get("bucket", resource_id) if args.typ == BUCKET else resource_id, state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/plan",
                "userId": "plan",
                "id": ACCOUNT,
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}, []
        return {}, []


def _made_up(type_: str, resource_id: str, inputs: Mapping[str, Any], m: _Mocks) -> dict[str, Any]:
    service = type_.split(":")[1].partition("/")[0] if type_.startswith("aws:") else "chat"
    name = unwrap(inputs.get("name")) or resource_id
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:{m.region}:{ACCOUNT}:{resource_id}"}
    if type_ == "aws:dynamodb/table:Table":
        out["arn"] = f"arn:aws:dynamodb:{m.region}:{ACCOUNT}:table/{name}"
        if inputs.get("streamEnabled"):
            out["streamArn"] = f"{out['arn']}/stream/2026-01-01T00:00:00.000"
    elif type_ == "aws:apigatewayv2/api:Api":
        scheme = "wss" if inputs.get("protocolType") == "WEBSOCKET" else "https"
        out["apiEndpoint"] = f"{scheme}://{resource_id}.execute-api.{m.region}.amazonaws.com"
        out["executionArn"] = f"arn:aws:execute-api:{m.region}:{ACCOUNT}:{resource_id}"
    elif type_ == "aws:lambda/function:Function":
        out["arn"] = f"arn:aws:lambda:{m.region}:{ACCOUNT}:function:{name}"
        out["invokeArn"] = (
            f"arn:aws:apigateway:{m.region}:lambda:path/2015-03-31/functions/{out['arn']}"
            "/invocations"
        )
    elif type_ == "aws:sqs/queue:Queue":
        out["arn"] = f"arn:aws:sqs:{m.region}:{ACCOUNT}:{name}"
        out["url"] = f"https://sqs.{m.region}.amazonaws.com/{ACCOUNT}/{name}"
    elif type_ == BUCKET:
        bucket = f"{unwrap(inputs.get('bucketPrefix', ''))}0001"
        out.update(
            arn=f"arn:aws:s3:::{bucket}",
            bucket=bucket,
            bucketRegionalDomainName=f"{bucket}.s3.{m.region}.amazonaws.com",
        )
    elif type_ == "aws:cloudfront/distribution:Distribution":
        out["domainName"] = f"{resource_id}.cloudfront.net"
    elif type_ == "aws:cloudwatch/eventBus:EventBus":
        out["arn"] = f"arn:aws:events:{m.region}:{ACCOUNT}:event-bus/{name}"
    elif type_ == "aws:cloudwatch/logGroup:LogGroup":
        out["arn"] = f"arn:aws:logs:{m.region}:{ACCOUNT}:log-group:{name}"
    elif type_ == "aws:iam/role:Role":
        out["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    elif type_ == "aws:cognito/userPool:UserPool":
        out["endpoint"] = f"cognito-idp.{m.region}.amazonaws.com/{resource_id}"
    return out


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, mock: _Mocks) -> None:
        super().__init__(mock)
        self.registered: list[tuple[str, str, str, str, bool]] = []

    def RegisterResource(self, request: Any) -> Any:  # the engine's RPC name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(
                (response.urn, request.type, request.name, request.parent, request.custom)
            )
        return response


def placeholder_layer(architecture: str, out_dir: Path = ROOT / "build") -> pulumi.FileArchive:
    """Stands in for the dependency layer when only the plan is wanted: nothing is built."""
    return pulumi.FileArchive(str(out_dir / f"layer-{architecture}-not-built.zip"))


@contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


_loops: list[asyncio.AbstractEventLoop] = []


def _fresh_event_loop() -> None:
    """Pulumi's runtime works on the thread's current event loop, which whatever ran before in
    this process may have closed or unset (`asyncio.run` does both): each run gets its own."""
    while _loops:
        _loops.pop().close()
    _loops.append(asyncio.new_event_loop())
    asyncio.set_event_loop(_loops[-1])


def run(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    root: Path = ROOT,
    layer: Callable[..., pulumi.Archive] = placeholder_layer,
) -> Program:
    """Runs `__main__.py` for `stack` (config overrides as {"chat:key": value}) and records it."""
    config, secret_keys = stack_config(stack, root)
    for key, value in (overrides or {}).items():
        config[key] = _text(value)
    region = config.get("aws:region", "us-east-1")
    mock = _Mocks(region)
    monitor = _RecordingMonitor(mock)
    settings.ROOT.set(None)  # a fresh root stack for every run in this process
    _fresh_event_loop()
    pulumi.runtime.set_mocks(mock, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys)
    settings.SETTINGS.rpc_manager.clear()

    def program() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__pulumi__")

    with _patched(packaging, "dependency_layer", layer):
        _sync_await(run_pulumi_func(program))
    stack_resource = settings.get_root_resource()
    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()
    for key, value in getattr(stack_resource, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        outputs[key] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret_outputs.add(key)
    states = monitor.get_registered_resources()
    recorded = [
        Registered(
            urn=urn,
            type=type_,
            name=name,
            parent=parent,
            custom=custom,
            inputs=_inputs(states.get(urn)),
        )
        for urn, type_, name, parent, custom in monitor.registered
    ]
    return Program(stack, recorded, outputs, secret_outputs)


def _inputs(registration: Any) -> dict[str, Any]:
    return dict(registration.state) if registration is not None else {}
