from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# pyproject sets no pythonpath; make `jobs` and `infra` importable however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fake_azure import FakeAzure
from stackdata import REPO, SERVERLESS_REGION, Planned, in_region

from jobs.targets import Target


@pytest.fixture(scope="session")
def planned() -> Planned:
    """The stack outputs of the example stacks' real offline plan, planned once per session."""
    return Planned()


@pytest.fixture
def target(planned: Planned) -> Target:
    """nlp-research in dev: clusters a100 (Standard_NC24ads_A100_v4, 2 nodes) and t4-eval."""
    return planned.target("dev")


def _saved(path: Path, outputs: dict[str, Any]) -> Path:
    """As `pulumi stack output --json > FILE` saves them, for `--outputs FILE`."""
    path.write_text(json.dumps(outputs))
    return path


@pytest.fixture
def outputs_file(tmp_path: Path, planned: Planned) -> Path:
    return _saved(tmp_path / "outputs.json", planned.outputs("dev"))


@pytest.fixture
def serverless_outputs_file(tmp_path: Path, planned: Planned) -> Path:
    """The dev stack in a region that offers serverless fine-tuning of the example model (the
    real stacks' westeurope does not)."""
    return _saved(tmp_path / "outputs-serverless.json", in_region(planned.outputs("dev"), SERVERLESS_REGION))


@pytest.fixture
def prod_outputs_file(tmp_path: Path, planned: Planned) -> Path:
    return _saved(tmp_path / "outputs-prod.json", planned.outputs("prod"))


@pytest.fixture
def workspace_path(planned: Planned) -> str:
    """The ARM id of the dev nlp-research workspace, the prefix of the fake's workspace routes."""
    return planned.workspace_path()


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    # Code paths in job bodies are relative to the working directory: pin it.
    monkeypatch.chdir(REPO)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, planned: Planned) -> Iterator[FakeAzure]:
    with FakeAzure() as server:
        server.workspace_id = planned.workspace_path()
        server.computes = planned.project()["clusters"]
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
