from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_azure import FakeAzure, Fault
from stackdata import CLUSTER_ID, RECIPES

from jobs.cli import main
from jobs.submit import connect

_cloud_counter = iter(range(10_000))


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


def factory(fake: FakeAzure) -> Any:
    # MLClient registers custom clouds globally by name: use a fresh name per client.
    def make(target: Any, registry: str | None) -> Any:
        return connect(
            target,
            registry,
            cloud=f"FakeCloud{next(_cloud_counter)}",
            cloud_metadata=fake.cloud_metadata(),
            retry_backoff_factor=0.01,
            retry_backoff_max=0.05,
            retry_total=3,
        )

    return make


def finetune(fake: FakeAzure, outputs_file: Path, recipe: str, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["finetune", str(RECIPES / f"{recipe}.yaml"), "--stack", "dev", "--project", "nlp-research"]
    code = main(
        [*argv, "--outputs", str(outputs_file), *extra], client_factory=factory(fake), out=out, err=err
    )
    return code, out.getvalue(), err.getvalue()


def puts(fake: FakeAzure) -> list[Any]:
    return [request for request in fake.requests if request.method == "PUT" and "/jobs/" in request.path]


def _without_git_properties(body: dict[str, Any]) -> dict[str, Any]:
    # The SDK adds mlflow.source.git.* / azureml.git.dirty at submission; dry-run cannot know them.
    properties = body["properties"]
    properties["properties"] = {
        key: value for key, value in properties.get("properties", {}).items() if "git" not in key
    }
    return body


def _lines(body: dict[str, Any]) -> list[str]:
    # The SDK resolves `azureml:name:version` data references to ARM ids of the workspace's assets.
    text = json.dumps(body, indent=1, sort_keys=True)
    scope = CLUSTER_ID.removesuffix("/computes/a100")
    return re.sub(r'"azureml:([^:"]+):([^:"]+)"', rf'"{scope}/data/\1/versions/\2"', text).splitlines()


def test_catalog_submission_body_matches_dry_run(fake: FakeAzure, outputs_file: Path) -> None:
    code, dry, _ = finetune(fake, outputs_file, "phi3-mini-chat-lora", "--dry-run")
    assert code == 0 and not fake.requests  # dry-run: no network at all
    dry_body = json.loads(dry[dry.index("{\n") : dry.index("\n}\n") + 2])

    code, out, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 0, err
    assert "note: registry not readable" in out
    [put] = puts(fake)
    sent = put.body
    assert sent["properties"]["jobType"] == "Pipeline"
    assert sent["properties"]["computeId"] == CLUSTER_ID
    node = sent["properties"]["jobs"]["finetune"]
    assert node["componentId"].endswith("/components/chat_completion_pipeline/versions/0.0.57")
    assert node["inputs"]["num_nodes_finetune"]["value"] == "1"
    assert sent["properties"]["tags"]["project"] == "nlp-research"
    name = dry_body.pop("name")  # travels in the URL, not the body
    assert put.path.endswith(f"/jobs/{name}")
    assert _lines(_without_git_properties(sent)) == _lines(_without_git_properties(dry_body))
    assert f"submitted: {name}" in out and f"https://ml.azure.com/runs/{name}" in out


def test_second_submission_attaches(fake: FakeAzure, outputs_file: Path) -> None:
    assert finetune(fake, outputs_file, "phi3-mini-chat-lora")[0] == 0
    code, out, _ = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 0 and "attached to existing job" in out
    assert fake.created == 1
    code, out, _ = finetune(fake, outputs_file, "phi3-mini-chat-lora", "--force-new")
    assert code == 0 and "submitted:" in out and fake.created == 2


@pytest.mark.parametrize(
    "fault",
    [
        Fault("PUT", r"/jobs/", 429, {"Retry-After": "0"}),
        Fault("PUT", r"/jobs/", 503),
        Fault("PUT", r"/jobs/", 500, after_success=True),  # created, but the answer was lost
    ],
    ids=["429", "503", "500-after-create"],
)
def test_transient_faults_are_retried_without_double_submission(
    fake: FakeAzure, outputs_file: Path, fault: Fault
) -> None:
    fake.faults.append(fault)
    code, out, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 0, err
    assert "https://ml.azure.com/runs/" in out
    assert fake.created == 1
    assert len(puts(fake)) == 2  # the fault, then the retry (a 409 attach after a lost answer)
    assert fake.faults == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "not authenticated"),
        (403, "access denied on workspace 'mlw-mlp-dev-nlp-research'"),
        (404, "not found in workspace 'mlw-mlp-dev-nlp-research'"),
    ],
)
def test_auth_and_missing_errors_are_clear(
    fake: FakeAzure, outputs_file: Path, status: int, expected: str
) -> None:
    # A missing job is normal (GET 404 then PUT); a missing workspace shows as a 404 on the PUT.
    fake.faults.append(Fault("PUT" if status == 404 else "GET", r"/workspaces/[^/]+/jobs/", status))
    code, _, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert fake.created == 0


def test_status_and_list(fake: FakeAzure, outputs_file: Path) -> None:
    code, dry, _ = finetune(fake, outputs_file, "phi3-mini-chat-lora", "--dry-run")
    assert code == 0
    name = dry.splitlines()[0].removeprefix("# job name: ")
    assert finetune(fake, outputs_file, "phi3-mini-chat-lora")[0] == 0
    target = ["--stack", "dev", "--project", "nlp-research", "--outputs", str(outputs_file)]
    out = io.StringIO()
    assert main(["status", name, *target], client_factory=factory(fake), out=out) == 0
    assert f"{name}  Running" in out.getvalue()
    out = io.StringIO()
    assert main(["list", *target], client_factory=factory(fake), out=out) == 0
    assert f"{name}  Running  recipe=phi3-mini-chat-lora" in out.getvalue()
