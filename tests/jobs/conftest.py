from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# pyproject sets no pythonpath; make `jobs` and `infra` importable however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from stackdata import REPO, stack_outputs


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(stack_outputs()))
    return path


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    # Code paths in job bodies are relative to the working directory: pin it.
    monkeypatch.chdir(REPO)
