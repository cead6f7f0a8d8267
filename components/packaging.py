"""What Lambda runs: the code archive (our packages) and one dependency layer built from uv.lock.

The layer is built for the runtime's platform (python3.12 on Graviton: manylinux aarch64 wheels),
never for the machine running Pulumi, and cached by the lock's digest, so `pulumi up` rebuilds it
only when the dependencies change.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pulumi

ROOT = Path(__file__).resolve().parent.parent
CODE_PACKAGES = ("domain", "application", "adapters", "functions")
# The Lambda code imports the topology (the OpenAPI document is built from it), not the Pulumi
# components beside it, which would drag pulumi into every cold start.
CODE_FILES = ("components/__init__.py", "components/topology.py")
# The python3.12 runtime ships these; bundling botocore alone would take the layer past 15 MB.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)
LAMBDA_PYTHON = "3.12"
PLATFORMS = {"arm64": "aarch64-manylinux2014", "x86_64": "x86_64-manylinux2014"}


@dataclass(frozen=True)
class LayerSpec:
    python: str = LAMBDA_PYTHON
    platform: str = PLATFORMS["arm64"]
    include_runtime_provided: bool = False  # True only to mimic the runtime on a test host


def code_files(root: Path = ROOT) -> dict[str, Path]:
    """Archive name -> file, for every source file the functions may import."""
    files = {name: root / name for name in CODE_FILES}
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            files[path.relative_to(root).as_posix()] = path
    return files


def code_archive(root: Path = ROOT) -> pulumi.AssetArchive:
    return pulumi.AssetArchive(
        {name: pulumi.FileAsset(str(path)) for name, path in code_files(root).items()}
    )


def locked_requirements(spec: LayerSpec, root: Path = ROOT) -> list[str]:
    """The runtime dependencies pinned in uv.lock (no dev, local or infra groups)."""
    exported = subprocess.run(
        [
            "uv",
            "export",
            "--frozen",
            "--no-default-groups",
            "--no-emit-project",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pinned = [line.strip() for line in exported.splitlines() if line.strip() and line[0].isalnum()]
    if spec.include_runtime_provided:
        return pinned
    return [line for line in pinned if _name(line) not in RUNTIME_PROVIDED]


def _name(requirement: str) -> str:
    name = requirement.partition(";")[0].partition("==")[0]
    return name.strip().lower().replace("_", "-")


def layer_digest(spec: LayerSpec, root: Path = ROOT) -> str:
    digest = hashlib.sha256((root / "uv.lock").read_bytes())
    digest.update(repr(spec).encode())
    digest.update(",".join(sorted(RUNTIME_PROVIDED)).encode())
    return digest.hexdigest()[:16]


def find_python(version: str) -> str | None:
    """A CPython of this version on this machine (uv's, on PATH or pyenv's), if there is one."""
    found = subprocess.run(
        ["uv", "python", "find", "--no-python-downloads", version],
        check=False,
        capture_output=True,
        text=True,
    )
    candidates = [found.stdout.strip()] if found.returncode == 0 else []
    candidates += [shutil.which(f"python{version}") or ""]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python3")))
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            check=False,
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def build_layer(spec: LayerSpec, out_dir: Path, root: Path = ROOT) -> Path:
    """The layer zip (`python/` at its root, as Lambda expects); built once per lock and spec.

    With a CPython of the runtime's version at hand, the layer carries its bytecode: Lambda cannot
    write a cache under /opt, so without it every cold start compiles the dependencies again."""
    python = find_python(spec.python)
    flavour = "pyc" if python else "src"
    stem = f"layer-{spec.platform}-py{spec.python}-{flavour}-{layer_digest(spec, root)}"
    target, archive = out_dir / stem, out_dir / f"{stem}.zip"
    if archive.exists():
        return archive
    shutil.rmtree(target, ignore_errors=True)
    requirements = out_dir / f"{stem}.txt"
    target.mkdir(parents=True)
    requirements.write_text("\n".join(locked_requirements(spec, root)) + "\n")
    subprocess.run(
        [
            "uv",
            "pip",
            "install",
            "--quiet",
            "--no-deps",  # the export is the whole locked closure already
            "--only-binary",
            ":all:",
            "--python-platform",
            spec.platform,
            "--python-version",
            spec.python,
            "--target",
            str(target / "python"),
            "-r",
            str(requirements),
        ],
        cwd=root,
        check=True,
        env={**os.environ, "UV_NO_PROGRESS": "1"},
    )
    if python:
        # Unchecked hash-based .pyc files are used as they are, whatever mtimes the unzip leaves.
        compile_all = [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash"]
        subprocess.run(
            [*compile_all, str(target / "python")],
            check=False,  # a module that does not compile keeps its source and compiles at import
            capture_output=True,
        )
    _zip(target, archive)
    return archive


def _zip(folder: Path, archive: Path) -> None:
    partial = archive.parent / f"{archive.name}.partial"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.write(path, path.relative_to(folder).as_posix())
    partial.replace(archive)  # a build cut short never leaves a zip that looks finished


def dependency_layer(architecture: str, out_dir: Path = ROOT / "build") -> pulumi.FileArchive:
    layer = build_layer(LayerSpec(platform=PLATFORMS[architecture]), out_dir)
    if "-src-" in layer.name:
        pulumi.log.warn(
            f"no CPython {LAMBDA_PYTHON} here: the layer ships without bytecode, so cold starts "
            f"compile it (`uv python install {LAMBDA_PYTHON}` and `pulumi up` again)"
        )
    return pulumi.FileArchive(str(layer))
