from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fake_azure import FakeAzure, Fault
from fake_cli import dry_run, finetune, run
from stackdata import CLUSTER_ID, REPO

from infra.skus import require_sku


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
    name, dry_body = dry_run(fake, outputs_file, "phi3-mini-chat-lora")

    code, out, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 0, err
    assert "note: registry not readable" in out
    [put] = puts(fake)
    sent = put.body
    assert sent["properties"]["jobType"] == "Pipeline"
    assert sent["properties"]["computeId"] == CLUSTER_ID
    node = sent["properties"]["jobs"]["finetune"]
    assert node["componentId"].endswith("/components/chat_completion_pipeline/versions/0.0.82")
    assert node["inputs"]["num_nodes_finetune"]["value"] == "1"
    assert sent["properties"]["tags"]["project"] == "nlp-research"
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
    name, _ = dry_run(fake, outputs_file, "phi3-mini-chat-lora")
    assert finetune(fake, outputs_file, "phi3-mini-chat-lora")[0] == 0
    code, out, _ = run(fake, outputs_file, "status", name)
    assert code == 0 and f"{name}  Running" in out
    code, out, _ = run(fake, outputs_file, "list")
    assert code == 0 and f"{name}  Running  recipe=phi3-mini-chat-lora" in out


def test_custom_submission_uploads_code_and_sends_the_command_job(
    fake: FakeAzure, outputs_file: Path
) -> None:
    name, dry_body = dry_run(fake, outputs_file, "llama-sft-custom")

    code, out, err = finetune(fake, outputs_file, "llama-sft-custom")

    assert code == 0, err
    assert f"submitted: {name}" in out
    # The code directory went to the workspace storage account through the SAS the workspace
    # handed out (startPendingUpload), then was registered as a code version.
    [upload] = [
        r.path for r in fake.requests if r.method == "POST" and r.path.endswith("/startPendingUpload")
    ]
    local = REPO / "jobs" / "examples" / "trl_sft"
    uploaded = {key.split("/", 1)[1]: value for key, value in fake.blobs.items()}
    assert uploaded == {f"trl_sft/{p.name}": p.read_bytes() for p in local.iterdir() if p.is_file()}
    [code_put] = [r for r in fake.requests if r.method == "PUT" and "/codes/" in r.path]
    assert code_put.path == upload.removesuffix("/startPendingUpload")
    code_name = code_put.path.split("/codes/")[1].split("/")[0]
    # The SDK marks the upload complete on the blob itself (what a later upload checks first).
    assert {meta["upload_status"] for meta in fake.blob_metadata.values()} == {"completed"}
    assert {meta["name"] for meta in fake.blob_metadata.values()} == {code_name}
    assert code_put.body["properties"]["codeUri"].startswith(
        "https://stmlpdevnlpresearch.blob.core.windows.net/"
    )
    assert code_put.body["properties"]["codeUri"].endswith("/trl_sft")

    [put] = puts(fake)
    assert put.path.endswith(f"/jobs/{name}")
    sent = put.body["properties"]
    assert sent["jobType"] == "Command"
    assert sent["computeId"] == CLUSTER_ID
    assert sent["codeId"] == code_put.path  # the registered code version's ARM id
    # One process per GPU of Standard_NC96ads_A100_v4 (infra/skus.py), on each of the 2 nodes.
    assert sent["distribution"] == {
        "distributionType": "PyTorch",
        "processCountPerInstance": require_sku("Standard_NC96ads_A100_v4").gpus,
    }
    assert sent["resources"]["instanceCount"] == 2
    assert sent["environmentId"] == (
        "azureml://registries/azureml/environments/acpt-pytorch-2.2-cuda12.1/versions/37"
    )
    assert sent["tags"] == {
        "project": "nlp-research",
        "environment": "dev",
        "recipe": "llama-sft-custom",
        "git_commit": "0123abc",
    }
    # Everything else is what the dry run showed: only the code reference is resolved on the wire.
    dry_body["properties"]["codeId"] = code_put.path
    assert _lines(_without_git_properties(put.body)) == _lines(_without_git_properties(dry_body))

    # Same recipe, same code: attach without uploading again.
    blob_writes = sum(1 for r in fake.requests if r.method == "PUT" and r.path.startswith("/stmlp"))
    code, out, _ = finetune(fake, outputs_file, "llama-sft-custom")
    assert code == 0 and f"attached to existing job: {name}" in out
    assert sum(1 for r in fake.requests if r.method == "PUT" and r.path.startswith("/stmlp")) == blob_writes
    assert fake.created == 1 and len(fake.codes) == 1


def test_serverless_submission_body_and_idempotency(fake: FakeAzure, outputs_file: Path) -> None:
    name, dry_body = dry_run(fake, outputs_file, "llama-serverless")

    code, out, err = finetune(fake, outputs_file, "llama-serverless")

    assert code == 0, err
    assert f"submitted: {name}" in out
    [put] = puts(fake)
    assert put.path.endswith(f"/jobs/{name}")
    sent = put.body["properties"]
    assert sent["jobType"] == "FineTuning"
    assert "computeId" not in sent  # serverless: the service runs it
    details = sent["fineTuningDetails"]
    assert details["taskType"] == "chatCompletion"
    assert details["model"] == {
        "uri": "azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct/versions/4",
        "jobInputType": "mlflow_model",
    }
    scope = CLUSTER_ID.removesuffix("/computes/a100")
    assert details["trainingData"] == {
        "uri": f"{scope}/data/ultrachat-200k-train/versions/1",
        "jobInputType": "uri_file",
    }
    assert details["validationData"] == {
        "uri": f"{scope}/data/ultrachat-200k-validation/versions/1",
        "jobInputType": "uri_file",
    }
    assert details["hyperParameters"] == {
        "learning_rate": "2e-05",
        "num_train_epochs": "1",
        "per_device_train_batch_size": "1",
    }
    assert sent["outputs"]["registered_model"]["assetName"] == "llama31-8b-chat-ft"
    assert sent["tags"] == {
        "project": "nlp-research",
        "environment": "dev",
        "recipe": "llama-serverless",
        "git_commit": "0123abc",
    }
    assert _lines(_without_git_properties(put.body)) == _lines(_without_git_properties(dry_body))

    code, out, _ = finetune(fake, outputs_file, "llama-serverless")
    assert code == 0 and f"attached to existing job: {name}" in out
    assert fake.created == 1 and len(puts(fake)) == 1  # the second run only read the job
