"""The web client in a real Chromium, driven by playwright-core against a fresh local stage.

The browser path itself is `ui/e2e/chat.e2e.mjs`; this test starts the stage for it on a free
127.0.0.1 port with a temporary state folder, runs it, and stops the stage. Screenshots land in
`test-artifacts/browser/`. `make test` builds the ui, installs Chromium when it is missing and sets
BROWSER_E2E=1, which turns a missing piece into a failure; elsewhere the test is skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from local.gateway import ui_build
from local.stage import LocalStage

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
RUN_TIMEOUT_S = 300


def missing() -> list[str]:
    """What the browser test needs and this machine lacks."""
    lacking = []
    if ui_build() is None:
        lacking.append("the ui build (make ui)")
    if not (UI / "node_modules" / "playwright-core").is_dir():
        lacking.append("ui/node_modules (npm ci in ui/)")
    if shutil.which("node") is None:
        lacking.append("node")
    if not Path(CHROMIUM).exists():
        lacking.append(f"chromium at {CHROMIUM} (make browser)")
    return lacking


@pytest.fixture
def browser_ready() -> None:
    lacking = missing()
    if lacking and os.environ.get("BROWSER_E2E") == "1":
        pytest.fail("the browser test needs " + ", ".join(lacking))
    if lacking:
        pytest.skip("needs " + ", ".join(lacking) + "; `make test` provides them")


@pytest.mark.slow
@pytest.mark.usefixtures("browser_ready")
def test_two_people_chat_share_files_and_catch_up_in_chromium(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with LocalStage(prefix="browser", state_dir=tmp_path / "state") as stage:
        run = subprocess.run(
            ["node", "e2e/chat.e2e.mjs"],
            cwd=UI,
            env={
                **os.environ,
                "CHAT_URL": stage.base,
                "ARTIFACTS": str(ARTIFACTS),
                "FIXTURES": str(FIXTURES),
                "CHROMIUM": CHROMIUM,
            },
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    print(run.stdout)
    assert run.returncode == 0, f"the browser path failed:\n{run.stdout}\n{run.stderr[-4000:]}"
    assert "all steps passed" in run.stdout
