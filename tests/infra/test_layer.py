"""The dependency layer, built from uv.lock for Lambda's python3.12 on arm64: small enough, made of
the right wheels, and with it every handler imports in an interpreter that has nothing else.

This host is x86_64, where aarch64 binaries cannot load: the import check runs on a second copy
of the layer built the same way for x86_64 (plus boto3, which Lambda's runtime provides). The
size and wheel checks are on the real Lambda-platform layer."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from components import packaging
from components.topology import FUNCTIONS, Function

MAX_ZIPPED_BYTES = 15 * 1024 * 1024

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def lambda_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return packaging.build_layer(packaging.LayerSpec(), tmp_path_factory.mktemp("layer"))


@pytest.fixture(scope="session")
def host_runtime(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """A 3.12 interpreter, the code archive unpacked and a host-platform layer unpacked."""
    python = packaging.find_python("3.12")
    if python is None:
        pytest.skip("no CPython 3.12 on this host to import the handlers with")
    root = tmp_path_factory.mktemp("runtime")
    spec = packaging.LayerSpec(platform="x86_64-manylinux2014", include_runtime_provided=True)
    with zipfile.ZipFile(packaging.build_layer(spec, root / "build")) as layer:
        layer.extractall(root / "opt")
    for name, source in packaging.code_files().items():
        (root / "task" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / "task" / name)
    return python, root / "task", root / "opt" / "python"


def test_the_zipped_layer_is_at_most_15_mb(lambda_layer: Path) -> None:
    size = lambda_layer.stat().st_size
    print(f"\nlambda layer {lambda_layer.name}: {size / 1024 / 1024:.2f} MB zipped")
    assert size <= MAX_ZIPPED_BYTES


def test_the_layer_holds_the_locked_dependencies_for_python_3_12_on_arm64(
    lambda_layer: Path,
) -> None:
    with zipfile.ZipFile(lambda_layer) as layer:
        names = layer.namelist()
    assert all(name.startswith("python/") for name in names)
    binaries = [name for name in names if name.endswith(".so")]
    assert binaries, "msgspec and cryptography ship compiled code"
    for binary in binaries:
        assert "x86_64" not in binary, binary
        assert "aarch64" in binary or ".abi3." in binary, binary
        assert "cpython-312" in binary or ".abi3." in binary, binary
    packages = {name.split("/")[1] for name in names}
    assert {"msgspec", "jwt", "aws_lambda_powertools", "cryptography"} <= packages
    # The runtime brings boto3; a second copy would cost more than the whole layer.
    assert not packages & {"boto3", "botocore"}
    locked = {packaging._name(r) for r in packaging.locked_requirements(packaging.LayerSpec())}
    installed = {
        name.split("/")[1].split("-")[0].lower().replace("_", "-")
        for name in names
        if name.split("/")[1].endswith(".dist-info")
    }
    assert installed == locked


def test_the_layer_carries_bytecode_for_python_3_12_when_one_was_at_hand(
    lambda_layer: Path,
) -> None:
    with zipfile.ZipFile(lambda_layer) as layer:
        compiled = [n for n in layer.namelist() if n.endswith(".pyc")]
    if packaging.find_python("3.12") is None:
        assert compiled == [] and "-src-" in lambda_layer.name
        return
    assert "-pyc-" in lambda_layer.name
    assert any(
        n.endswith("aws_lambda_powertools/__pycache__/__init__.cpython-312.pyc") for n in compiled
    )
    assert all(".cpython-312." in n for n in compiled)


def test_the_code_archive_is_only_our_packages(lambda_layer: Path) -> None:
    names = set(packaging.code_files())
    assert all(n.split("/")[0] in {*packaging.CODE_PACKAGES, "components"} for n in names)
    assert {"components/topology.py", "components/__init__.py"} == {
        n for n in names if n.startswith("components/")
    }


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.name)
def test_every_handler_imports_from_the_code_and_the_layer_alone(
    function: Function, host_runtime: tuple[str, Path, Path]
) -> None:
    python, task, layer = host_runtime
    module, _, name = function.handler.rpartition(".")
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import importlib; "
        "m = importlib.import_module(sys.argv[3]); assert callable(getattr(m, sys.argv[4])); "
        "assert not any('site-packages' in p for p in sys.path), sys.path; "
        "print(m.__file__)"
    )
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "eu-west-1"}
    # -I: no user site, no PYTHON* variables, no current directory; -S: no site-packages at all.
    result = subprocess.run(
        [python, "-I", "-S", "-c", script, str(task), str(layer), module, name],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=task.parent,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(task))
