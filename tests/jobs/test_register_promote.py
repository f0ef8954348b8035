"""register (each recipe kind's output, lineage tags) and promote (workspace -> registry, never
overwriting) against the fake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_azure import FakeAzure, Fault
from fake_cli import finetune, run
from stackdata import Planned

from jobs.cli import EXIT_USER_ERROR


def completed(fake: FakeAzure, outputs_file: Path, recipe: str) -> str:
    """Submit `recipe` to the fake and let its job complete; the job name."""
    code, out, err = finetune(fake, outputs_file, recipe)
    assert code == 0, err
    name = out.split("submitted: ")[1].split(" ")[0]
    fake.jobs[name]["properties"]["status"] = "Completed"
    fake.requests.clear()
    return name


def model_put(fake: FakeAzure) -> tuple[str, dict]:  # type: ignore[type-arg]
    put = next(r for r in fake.requests if r.method == "PUT" and "/models/" in r.path)
    return put.path, put.body


def test_a_catalog_pipelines_trained_model_output_is_registered_with_lineage(
    fake: FakeAzure, outputs_file: Path
) -> None:
    job = completed(fake, outputs_file, "phi3-mini-chat-lora")
    allowed = "['Standard_NC24ads_A100_v4', 'Standard_NC48ads_A100_v4']"
    fake.registry_models["azureml"]["Phi-3-mini-4k-instruct/15"]["inference_compute_allow_list"] = allowed

    code, out, err = run(fake, outputs_file, "register", job)

    assert code == 0, err
    path, body = model_put(fake)
    assert (
        path == f"{fake.workspace_id}/models/phi3-mini-chat-lora-ft/versions/1"
    )  # first version of the name
    properties = body["properties"]
    assert properties["modelType"] == "mlflow_model"
    assert properties["modelUri"] == f"azureml://jobs/{job}/outputs/trained_model"
    tags = properties["tags"]
    assert tags["job"] == job
    # Copied from the base catalog model, so that deploy checks the instance type against it.
    assert tags["inference_compute_allow_list"] == allowed
    assert tags["recipe"] == "phi3-mini-chat-lora"
    assert tags["workspace"] == "mlw-mlp-dev-nlp-research"
    assert tags["git_commit"] == "0123abc"
    assert (tags["base_model"], tags["base_model_version"], tags["base_model_registry"]) == (
        "Phi-3-mini-4k-instruct",
        "15",
        "azureml",
    )
    # The service answers with the data assets' ARM ids; the tag names them as the recipe does.
    assert json.loads(tags["data"]) == {
        "test_file_path": "azureml:ultrachat-200k-test:1",
        "train_file_path": "azureml:ultrachat-200k-train:1",
        "validation_file_path": "azureml:ultrachat-200k-validation:1",
    }
    assert out.endswith(
        f"registered phi3-mini-chat-lora-ft:1 from azureml://jobs/{job}/outputs/trained_model\n"
    )


def test_registering_again_takes_the_next_version(fake: FakeAzure, outputs_file: Path) -> None:
    job = completed(fake, outputs_file, "phi3-mini-chat-lora")
    fake.models["phi3-mini-chat-lora-ft/4"] = {}
    code, out, err = run(fake, outputs_file, "register", job)
    assert code == 0, err
    assert "registered phi3-mini-chat-lora-ft:5 " in out


def test_a_custom_job_without_an_mlflow_output_is_refused(fake: FakeAzure, outputs_file: Path) -> None:
    # A job whose model is a plain folder (a LoRA adapter, say): no-code deployment needs MLflow.
    job = completed(fake, outputs_file, "llama-sft-custom")
    fake.jobs[job]["properties"]["outputs"]["model"]["jobOutputType"] = "uri_folder"
    code, _, err = run(fake, outputs_file, "register", job)
    assert code == EXIT_USER_ERROR and len(err.strip().splitlines()) == 1
    assert "has no output of type mlflow_model (outputs: model (uri_folder)" in err
    assert not [r for r in fake.requests if r.method == "PUT"]


def test_the_custom_examples_output_is_registered_as_an_mlflow_model(
    fake: FakeAzure, outputs_file: Path
) -> None:
    # The example recipe declares its output `type: mlflow_model` (train.py saves an MLflow model).
    job = completed(fake, outputs_file, "llama-sft-custom")
    code, out, err = run(fake, outputs_file, "register", job, "--name", "llama-sft", "--version", "7")
    assert code == 0, err
    path, body = model_put(fake)
    assert path.endswith("/models/llama-sft/versions/7")
    assert body["properties"]["modelType"] == "mlflow_model"
    assert body["properties"]["modelUri"] == f"azureml://jobs/{job}/outputs/model"
    tags = body["properties"]["tags"]
    assert tags["base_model"] == "meta-llama/Llama-3.2-1B-Instruct"  # the recipe's parameter
    assert json.loads(tags["data"]) == {"train_data": "azureml:ultrachat-200k-train:1"}
    assert f"registered llama-sft:7 from azureml://jobs/{job}/outputs/model" in out


def test_a_job_that_has_not_completed_is_not_registered(fake: FakeAzure, outputs_file: Path) -> None:
    job = completed(fake, outputs_file, "phi3-mini-chat-lora")
    fake.jobs[job]["properties"]["status"] = "Running"
    code, _, err = run(fake, outputs_file, "register", job)
    assert code == EXIT_USER_ERROR and f"job {job} is Running" in err


def test_register_dry_run_reads_the_job_and_writes_nothing(fake: FakeAzure, outputs_file: Path) -> None:
    job = completed(fake, outputs_file, "phi3-mini-chat-lora")
    code, out, err = run(fake, outputs_file, "register", job, "--dry-run")
    assert code == 0, err
    out = "".join(line for line in out.splitlines(keepends=True) if not line.startswith("note: "))
    assert out.startswith(
        "# PUT .../workspaces/mlw-mlp-dev-nlp-research/models/phi3-mini-chat-lora-ft/versions/<next>:"
    )
    assert json.loads(out.split("\n", 1)[1])["properties"]["modelUri"].endswith("/outputs/trained_model")
    # Reads only (the job, the base model's tags, its metrics); the workspace model is neither read
    # nor written.
    assert {r.method for r in fake.requests} <= {"GET", "POST"}
    assert not any(f"{fake.workspace_id}/models/" in r.path for r in fake.requests)


@pytest.fixture
def registry(planned: Planned) -> str:
    """The environment's registry (the stack outputs' registry.name): dev shares prod's."""
    return str(planned.outputs("dev")["registry"]["name"])


def registered(fake: FakeAzure, registry: str) -> None:
    fake.registries.add(registry)
    fake.models["llama31-8b-chat-ft/3"] = {"job": "ft-job-1", "workspace": "mlw-mlp-dev-nlp-research"}


def test_promote_shares_the_workspace_model_into_the_environments_registry(
    fake: FakeAzure, outputs_file: Path, registry: str
) -> None:
    registered(fake, registry)
    code, out, err = run(fake, outputs_file, "promote", "llama31-8b-chat-ft:3")
    assert code == 0, err
    assert out == (
        f"importing llama31-8b-chat-ft:3 into registry {registry} (the registry copies the model's files)\n"
        f"promoted llama31-8b-chat-ft:3 to azureml://registries/{registry}/models/llama31-8b-chat-ft/versions/3\n"
    )
    # The registry now holds it, with the workspace model's lineage (source workspace and job).
    assert fake.registry_models[registry]["llama31-8b-chat-ft/3"]["job"] == "ft-job-1"
    imported = next(r for r in fake.requests if r.path.endswith(f"/registries/{registry}/import"))
    assert imported.body["properties"]["sourceAssetId"] == (
        f"azureml://locations/westeurope/workspaces/{fake.workspace_guid}/models/llama31-8b-chat-ft/versions/3"
    )


def test_promote_refuses_to_overwrite_a_registry_version(
    fake: FakeAzure, outputs_file: Path, registry: str
) -> None:
    registered(fake, registry)
    fake.registry_models[registry] = {"llama31-8b-chat-ft/3": {"job": "older"}}
    code, _, err = run(fake, outputs_file, "promote", "llama31-8b-chat-ft:3")
    assert code == EXIT_USER_ERROR and len(err.strip().splitlines()) == 1
    assert "already exists: registry model versions cannot be overwritten" in err
    assert fake.registry_models[registry]["llama31-8b-chat-ft/3"] == {"job": "older"}
    assert not any(r.path.endswith("/import") for r in fake.requests)


def test_promote_of_a_model_missing_from_the_workspace_is_one_error(
    fake: FakeAzure, outputs_file: Path, registry: str
) -> None:
    fake.registries.add(registry)
    code, _, err = run(fake, outputs_file, "promote", "nope:1")
    assert code == EXIT_USER_ERROR and "looking up model nope:1: not found" in err


@pytest.mark.parametrize("model", ["nope", "azureml://registries/r/models/m/versions/1"])
def test_promote_takes_a_workspace_name_and_version(fake: FakeAzure, outputs_file: Path, model: str) -> None:
    code, _, err = run(fake, outputs_file, "promote", model)
    assert (
        code == EXIT_USER_ERROR
        and "must be NAME:VERSION of a model registered in the project's workspace" in err
    )
    assert not fake.requests


def metrics_tag(fake: FakeAzure) -> dict[str, float] | None:
    _, body = model_put(fake)
    tag = body["properties"]["tags"].get("metrics")
    return None if tag is None else json.loads(tag)


def test_a_pipelines_metrics_are_read_from_its_step_runs_into_the_lineage(
    fake: FakeAzure, outputs_file: Path
) -> None:
    job = completed(fake, outputs_file, "phi3-mini-chat-lora")
    # Run tree as the service nests it: job -> pipeline node "finetune" -> steps; three steps
    # page (page size 2), so the search is followed through next_page_token.
    done = ["Completed"]
    fake.pipeline_steps(job, {"model_import": done, "finetune": done, "compute_metrics": done})
    fake.metrics[f"{job}-step-finetune"] = {"train_loss": 0.52, "epoch": 1.0}
    fake.metrics[f"{job}-step-compute_metrics"] = {"bleu_4": 0.31}

    code, out, err = run(fake, outputs_file, "register", job)

    assert code == 0, err
    assert metrics_tag(fake) == {
        "finetune/compute_metrics/bleu_4": 0.31,
        "finetune/finetune/epoch": 1.0,
        "finetune/finetune/train_loss": 0.52,
    }
    assert "note:" not in out
    searches = [r for r in fake.requests if r.path.endswith("/api/2.0/mlflow/runs/search")]
    # The workspace's tracking URI (azureml://...) over https, with the job's name as the run id.
    assert searches[0].path.startswith("/mlflow/v1.0/subscriptions/") and searches[0].method == "POST"
    assert searches[0].body["filter"] == f"tags.mlflow.parentRunId = '{job}'"
    assert [s.body.get("page_token") for s in searches[1:3]] == [None, "2"]  # the node's steps, 2 pages


def test_a_custom_jobs_own_metrics_are_recorded(fake: FakeAzure, outputs_file: Path) -> None:
    job = completed(fake, outputs_file, "llama-sft-custom")
    fake.metrics[job] = {"train_loss": 1.25}
    code, _, err = run(fake, outputs_file, "register", job)
    assert code == 0, err
    assert metrics_tag(fake) == {"train_loss": 1.25}


def test_a_job_that_logged_no_metrics_is_registered_with_a_note(fake: FakeAzure, outputs_file: Path) -> None:
    job = completed(fake, outputs_file, "llama-sft-custom")
    code, out, err = run(fake, outputs_file, "register", job)
    assert code == 0, err
    assert f"note: job {job} logged no metrics (MLflow run {job} and its child runs): none recorded" in out
    assert metrics_tag(fake) is None


def test_metrics_the_tracking_server_refuses_are_a_note_not_a_failure(
    fake: FakeAzure, outputs_file: Path
) -> None:
    job = completed(fake, outputs_file, "llama-sft-custom")
    fake.metrics[job] = {"train_loss": 1.25}
    fake.faults.append(Fault("GET", r"/api/2\.0/mlflow/runs/get$", 403))
    code, out, err = run(fake, outputs_file, "register", job)
    assert code == 0, err
    assert (
        f"note: the metrics of job {job} could not be read (MLflow /api/2.0/mlflow/runs/get answered 403"
        in out
    )
    assert metrics_tag(fake) is None
    assert "registered " in out


def test_a_serverless_fine_tune_is_not_registered_again_and_says_where_its_model_is(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    # The service registers a serverless fine-tune's model itself (named from the recipe's
    # output_model_name_prefix); registering the job's output would make a second, unservable copy.
    meta = "azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct"
    fake.add_marketplace_subscription(fake.workspace_id, "meta-llama", meta)
    job = completed(fake, serverless_outputs_file, "llama-serverless")
    code, _, err = run(fake, serverless_outputs_file, "register", job)
    assert code == EXIT_USER_ERROR
    assert "serverless fine-tuning registers its model itself (named from output_model_name_prefix)" in err
    assert "deploy that model to a serverless endpoint" in err
    assert not [r for r in fake.requests if r.method == "PUT"]
