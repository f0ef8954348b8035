from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# pyproject sets no pythonpath; make `jobs` and `infra` importable however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fake_azure import FakeAzure
from stackdata import REPO, SERVERLESS_REGION, stack_outputs


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(stack_outputs()))
    return path


@pytest.fixture
def serverless_outputs_file(tmp_path: Path) -> Path:
    """A stack in a region that offers serverless fine-tuning of the example model (the real
    stacks' westeurope does not)."""
    path = tmp_path / "outputs-serverless.json"
    path.write_text(json.dumps(stack_outputs(SERVERLESS_REGION)))
    return path


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    # Code paths in job bodies are relative to the working directory: pin it.
    monkeypatch.chdir(REPO)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeAzure]:
    with FakeAzure() as server:
        bundle = tmp_path / "ca.pem"
        server.ca.cert_pem.write_to_path(str(bundle))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        # The real DefaultAzureCredential resolves to EnvironmentCredential against the fake.
        # Tenant "adfs" makes MSAL skip Microsoft's instance discovery, which needs the internet.
        monkeypatch.setenv("AZURE_TENANT_ID", "adfs")
        monkeypatch.setenv("AZURE_CLIENT_ID", "client")
        monkeypatch.setenv("AZURE_CLIENT_SECRET", "secret")
        monkeypatch.setenv("AZURE_AUTHORITY_HOST", server.url)
        monkeypatch.delenv("AZUREML_CURRENT_CLOUD", raising=False)
        monkeypatch.setattr("jobs.cli.git_commit", lambda: "0123abc")
        yield server
