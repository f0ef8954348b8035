from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from fake_azure import FakeAzure, Fault
from fake_cli import dry_run, finetune, run
from stackdata import REPO, Planned

from jobs.cli import EXIT_USER_ERROR


def puts(fake: FakeAzure) -> list[Any]:
    return [request for request in fake.requests if request.method == "PUT" and "/jobs/" in request.path]


def _without_git_properties(body: dict[str, Any]) -> dict[str, Any]:
    # The SDK adds mlflow.source.git.* / azureml.git.dirty at submission; dry-run cannot know them.
    properties = body["properties"]
    properties["properties"] = {
        key: value for key, value in properties.get("properties", {}).items() if "git" not in key
    }
    return body


def _lines(body: dict[str, Any], workspace_path: str) -> list[str]:
    # The SDK resolves `azureml:name:version` data references to ARM ids of the workspace's assets.
    text = json.dumps(body, indent=1, sort_keys=True)
    return re.sub(
        r'"azureml:([^:"]+):([^:"]+)"', rf'"{workspace_path}/data/\1/versions/\2"', text
    ).splitlines()


def test_catalog_submission_body_matches_dry_run(
    fake: FakeAzure, outputs_file: Path, planned: Planned, workspace_path: str
) -> None:
    name, dry_body = dry_run(fake, outputs_file, "phi3-mini-chat-lora")

    code, out, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 0, err
    assert "note:" not in out  # the registry was readable: model and component were checked
    registry_reads = [r.path.split("/registries/")[1] for r in fake.requests if "/versions/" in r.path]
    assert registry_reads[:2] == [
        "azureml/models/Phi-3-mini-4k-instruct/versions/15",
        "azureml/components/chat_completion_pipeline/versions/0.0.82",
    ]
    [put] = puts(fake)
    sent = put.body
    assert sent["properties"]["jobType"] == "Pipeline"
    assert sent["properties"]["computeId"] == planned.cluster_id("a100")
    node = sent["properties"]["jobs"]["finetune"]
    assert node["componentId"].endswith("/components/chat_completion_pipeline/versions/0.0.82")
    assert node["inputs"]["num_nodes_finetune"]["value"] == "1"
    assert sent["properties"]["tags"]["project"] == "nlp-research"
    assert put.path.endswith(f"/jobs/{name}")
    assert _lines(_without_git_properties(sent), workspace_path) == _lines(
        _without_git_properties(dry_body), workspace_path
    )
    assert f"submitted: {name}" in out and f"https://ml.azure.com/runs/{name}" in out


def test_an_unreadable_registry_skips_its_checks_with_a_note(fake: FakeAzure, outputs_file: Path) -> None:
    fake.registry_denied = True
    code, out, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 0, err
    assert "note: registry not readable (" in out and "AuthorizationFailed" in out
    assert fake.created == 1


@pytest.mark.parametrize(
    ("registry", "expected"),
    [
        ("models", "model: not found in the registry: "),
        ("components", "component.version: not found in the registry: "),
    ],
)
def test_a_model_or_component_missing_from_the_registry_stops_submission(
    fake: FakeAzure, outputs_file: Path, registry: str, expected: str
) -> None:
    if registry == "models":
        fake.registry_models["azureml"].clear()
    else:
        fake.faults.append(Fault("GET", r"/registries/azureml/components/", 404))
    code, _, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 2
    assert f"phi3-mini-chat-lora.yaml: {expected}" in err
    assert fake.created == 0 and not puts(fake)


def test_the_service_refuses_a_body_that_does_not_match_the_component(
    fake: FakeAzure, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the old build sent for `extra_inputs: {apply_early_stopping: true}`: the string "True".
    from jobs import components

    monkeypatch.setattr(components, "typed_value", lambda spec, value: str(value))
    monkeypatch.setattr("jobs.build.typed_value", lambda spec, value: str(value))
    monkeypatch.setattr("jobs.checks.typed_value", lambda spec, value: str(value))
    code, _, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 2
    assert "Azure ML answered 400" in err
    assert "input 'apply_deepspeed' must be one of ['true', 'false'], got 'True'" in err
    assert fake.created == 0


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
    # The fault, then azure-core's retry: after a lost answer the same body updates the job it created.
    assert len(puts(fake)) == 2
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
    fake: FakeAzure, outputs_file: Path, planned: Planned, workspace_path: str
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
    assert sent["computeId"] == planned.cluster_id("a100")
    assert sent["codeId"] == code_put.path  # the registered code version's ARM id
    # One process per GPU of the cluster's Standard_NC24ads_A100_v4 (one A100), on each of the 2 nodes.
    assert sent["distribution"] == {
        "distributionType": "PyTorch",
        "processCountPerInstance": 1,
    }
    assert sent["resources"]["instanceCount"] == 2
    # The environment was registered from the pinned image and conda file, then referenced.
    [env_put] = [r for r in fake.requests if r.method == "PUT" and "/environments/" in r.path]
    assert sent["environmentId"] == env_put.path
    assert env_put.body["properties"]["image"] == (
        "mcr.microsoft.com/azureml/openmpi5.0-cuda12.4-ubuntu22.04:20260715.v1"
    )
    conda = env_put.body["properties"]["condaFile"]
    assert "trl==1.16.0" in conda and "peft==0.21.2" in conda and "datasets==5.2.0" in conda
    # The Hugging Face token travels as a Key Vault reference, read with the compute's identity.
    assert sent["environmentVariables"]["HF_TOKEN_KEYVAULT_SECRET"] == (
        "https://kvmlpdevnlpresearche009.vault.azure.net/secrets/huggingface-token"
    )
    assert "HF_TOKEN" not in sent["environmentVariables"]
    assert sent["identity"] == {"identityType": "Managed"}
    assert sent["tags"] == {
        "project": "nlp-research",
        "environment": "dev",
        "recipe": "llama-sft-custom",
        "git_commit": "0123abc",
    }
    # Everything else is what the dry run showed: only the code and environment references are
    # resolved on the wire.
    dry_body["properties"]["codeId"] = code_put.path
    assert dry_body["properties"]["environmentId"] == "azureml:" + ":".join(env_put.path.split("/")[-3::2])
    dry_body["properties"]["environmentId"] = env_put.path
    assert _lines(_without_git_properties(put.body), workspace_path) == _lines(
        _without_git_properties(dry_body), workspace_path
    )

    # Same recipe, same code: attach without uploading again.
    blob_writes = sum(1 for r in fake.requests if r.method == "PUT" and r.path.startswith("/stmlp"))
    code, out, _ = finetune(fake, outputs_file, "llama-sft-custom")
    assert code == 0 and f"attached to existing job: {name}" in out
    assert sum(1 for r in fake.requests if r.method == "PUT" and r.path.startswith("/stmlp")) == blob_writes
    assert fake.created == 1 and len(fake.codes) == 1


def test_serverless_submission_body_and_idempotency(
    fake: FakeAzure, serverless_outputs_file: Path, workspace_path: str
) -> None:
    outputs_file = serverless_outputs_file
    name, dry_body = dry_run(fake, outputs_file, "llama-serverless")
    # A Meta model: the workspace is subscribed to its marketplace offer (tests/jobs/test_marketplace.py).
    meta = "azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct"
    fake.add_marketplace_subscription(workspace_path, "meta-llama", meta)

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
    assert details["trainingData"] == {
        "uri": f"{workspace_path}/data/ultrachat-200k-train/versions/1",
        "jobInputType": "uri_file",
    }
    assert details["validationData"] == {
        "uri": f"{workspace_path}/data/ultrachat-200k-validation/versions/1",
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
    assert _lines(_without_git_properties(put.body), workspace_path) == _lines(
        _without_git_properties(dry_body), workspace_path
    )

    code, out, _ = finetune(fake, outputs_file, "llama-serverless")
    assert code == 0 and f"attached to existing job: {name}" in out
    assert fake.created == 1 and len(puts(fake)) == 1  # the second run only read the job


def test_resubmitting_a_failed_recipe_reports_it_and_force_new_retrains(
    fake: FakeAzure, outputs_file: Path, workspace_path: str
) -> None:
    name, _ = dry_run(fake, outputs_file, "phi3-mini-chat-lora")
    fake.add_job(workspace_path, name, "Pipeline", "Failed")
    fake.errors[name] = "Disk quota exceeded"

    code, out, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")

    assert code == 1  # not 0: attaching to a failed job is not a success
    assert f"existing job: {name} (Failed)" in out and "attached" not in out
    assert err == (
        f"error: {name} ended Failed: UserError: Disk quota exceeded; "
        "to train again, run the same command with --force-new\n"
    )
    assert fake.created == 0

    code, out, err = finetune(fake, outputs_file, "phi3-mini-chat-lora", "--force-new")
    assert code == 0, err
    [put] = puts(fake)
    assert put.path.rsplit("/", 1)[1].startswith(f"{name}-")
    # A new job that reuses the cached steps of the old one would not train again.
    assert put.body["properties"]["settings"]["force_rerun"] is True


def test_a_mutable_data_path_is_called_out(fake: FakeAzure, outputs_file: Path, tmp_path: Path) -> None:
    from test_recipes_and_checks import write_variant

    path = "azureml://datastores/workspaceblobstore/paths/chat/train.jsonl"
    recipe = write_variant(tmp_path, "phi3-mini-chat-lora", {"data.train": path})
    code, out, err = run(fake, outputs_file, "finetune", str(recipe))
    assert code == 0, err
    [note] = [line for line in out.splitlines() if line.startswith("note: data.")]
    assert note.startswith(f"note: data.train is {path!r}, not a versioned data asset")
    assert "--force-new" in note
    assert not any("data.validation" in line for line in out.splitlines())  # azureml:name:version


@pytest.mark.parametrize(
    ("argv", "suggests_dry_run"),
    [
        (["status", "x"], False),
        (["list"], False),
        (["cancel", "x"], False),
        (["finetune", "jobs/recipes/phi3-mini-chat-lora.yaml"], True),
    ],
)
def test_only_commands_with_a_dry_run_suggest_it(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], suggests_dry_run: bool
) -> None:
    import io

    from jobs.cli import main

    monkeypatch.setattr("shutil.which", lambda name: None)  # no pulumi CLI
    err = io.StringIO()
    code = main([*argv, "--stack", "dev", "--project", "nlp-research"], out=io.StringIO(), err=err)
    assert code == 2
    assert "the pulumi CLI is not on PATH" in err.getvalue()
    assert ("--dry-run" in err.getvalue()) is suggests_dry_run


def test_serverless_from_a_region_without_the_offer_is_refused_before_anything_is_sent(
    fake: FakeAzure, outputs_file: Path
) -> None:
    # The real stacks are in westeurope: serverless fine-tuning of Llama 3.1 8B is not offered there.
    code, out, err = finetune(fake, outputs_file, "llama-serverless")
    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert line.startswith("error: ") and "llama-serverless.yaml: model: serverless fine-tuning of " in line
    assert "is not offered in westeurope" in line and "westus3" in line and "kind: catalog" in line
    assert not fake.requests


def test_a_serverless_model_missing_from_its_registry_is_refused(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    fake.registry_models["azureml-meta"].clear()
    code, _, err = finetune(fake, serverless_outputs_file, "llama-serverless")
    assert code == 2
    assert "llama-serverless.yaml: model: not found in the registry: Meta-Llama-3.1-8B-Instruct 4" in err
    assert "registry azureml-meta" in err and fake.created == 0


def test_a_missing_login_is_one_line_without_credential_warnings(
    fake: FakeAzure, outputs_file: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # No service principal, no az CLI: the real DefaultAzureCredential runs out of credentials.
    for variable in ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"):
        monkeypatch.delenv(variable)
    monkeypatch.setenv("PATH", "/nonexistent")
    caplog.set_level("DEBUG")

    code, out, err = run(fake, outputs_file, "status", "some-job")

    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert line.startswith("error: reading job some-job: not authenticated for workspace ")
    assert line.endswith("DefaultAzureCredential failed to retrieve a token from the included credentials.")
    # Without --verbose no SDK record reaches a handler (the root's, or Python's last resort).
    assert [record.name for record in caplog.records if record.name.startswith("azure")] == []


def test_an_unreachable_azure_ml_is_one_line_saying_so(fake: FakeAzure, outputs_file: Path) -> None:
    # A loopback port nothing listens on: the connection is refused, as when a network path is down.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"https://127.0.0.1:{probe.getsockname()[1]}/"
    code, out, err = run(fake, outputs_file, "status", "some-job", resource_manager=closed)
    assert (code, out) == (EXIT_USER_ERROR, "")
    [line] = err.splitlines()
    assert line.startswith("error: reading job some-job: cannot reach Azure ML: ")
    assert "Connection refused" in line


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            {"error": {"code": "BadArgument", "message": "the name\n   is not valid"}},
            "(BadArgument) the name is not valid",
        ),
        # azure-core takes an error with only one of code and message (ODataV4Format)
        ({"error": {"code": "BadArgument"}}, "BadArgument"),
        ({"error": {"message": "the name is not valid"}}, "the name is not valid"),
        # not JSON: a proxy's page; azure-core's message, without the page it appends to str()
        (
            "<html><body><h1>400 Bad Request</h1></body></html>",
            "Operation returned an invalid status 'Bad Request'",
        ),
        ({"error": {"code": "C", "message": "m" * 500}}, "(C) " + "m" * 396),  # cut at 400 characters
    ],
    ids=["code-and-message", "code-only", "message-only", "not-json", "long"],
)
def test_an_error_answer_is_one_line_of_what_azure_said(
    fake: FakeAzure, outputs_file: Path, body: Any, said: str
) -> None:
    fake.faults.append(Fault("GET", r"/jobs/some-job", 400, body=body))
    code, out, err = run(fake, outputs_file, "status", "some-job")
    assert (code, out) == (EXIT_USER_ERROR, "")
    assert err == f"error: reading job some-job: Azure ML answered 400: {said}\n"


def test_a_job_created_meanwhile_by_another_client_is_attached_to(
    fake: FakeAzure, outputs_file: Path
) -> None:
    name, _ = dry_run(fake, outputs_file, "phi3-mini-chat-lora")
    fake.created_meanwhile.add(name)  # between our GET (404) and our PUT
    code, out, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 0, err
    assert f"attached to existing job: {name}" in out
    assert fake.created == 0  # ours was refused: the job is the other client's


def test_a_conflict_on_create_is_attached_to(fake: FakeAzure, outputs_file: Path) -> None:
    # ARM's answer to a create that conflicts with a resource of the same name.
    fake.faults.append(Fault("PUT", r"/jobs/", 409, after_success=True))
    code, out, err = finetune(fake, outputs_file, "phi3-mini-chat-lora")
    assert code == 0, err
    assert "attached to existing job: " in out and fake.created == 1
