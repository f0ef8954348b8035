from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from stackdata import RECIPES, Planned

from jobs.cli import main

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = ["phi3-mini-chat-lora", "llama-sft-custom", "llama-serverless"]


def dry_run(recipe: Path, outputs_file: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    # The git commit tag changes with every commit; pin it so golden files stay stable.
    monkeypatch.setattr("jobs.cli.git_commit", lambda: "0123abc")
    out = io.StringIO()
    code = main(
        [
            "finetune",
            str(recipe),
            "--stack",
            "dev",
            "--project",
            "nlp-research",
            "--outputs",
            str(outputs_file),
            "--dry-run",
        ],
        out=out,
    )
    assert code == 0
    return out.getvalue()


def rest_body(rendered: str) -> dict[str, object]:
    start = rendered.index("{\n")
    end = rendered.index("\n}\n", start) + 2
    body = json.loads(rendered[start:end])
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize("name", EXAMPLES)
def test_dry_run_is_byte_identical_and_matches_golden(
    name: str,
    outputs_file: Path,
    serverless_outputs_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """After an intended change: `make expected`, then review the diff."""
    outputs = serverless_outputs_file if name == "llama-serverless" else outputs_file
    first = dry_run(RECIPES / f"{name}.yaml", outputs, monkeypatch)
    second = dry_run(RECIPES / f"{name}.yaml", outputs, monkeypatch)
    assert first == second
    if request.config.getoption("--update-expected"):
        (GOLDEN / f"{name}.txt").write_text(first)
    assert first == (GOLDEN / f"{name}.txt").read_text()


def test_catalog_body_targets_the_cluster(
    outputs_file: Path, planned: Planned, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = rest_body(dry_run(RECIPES / "phi3-mini-chat-lora.yaml", outputs_file, monkeypatch))
    properties = body["properties"]
    assert isinstance(properties, dict)
    assert properties["jobType"] == "Pipeline"
    assert properties["computeId"] == planned.cluster_id("a100")
    node = properties["jobs"]["finetune"]
    assert (
        node["componentId"]
        == "azureml://registries/azureml/components/chat_completion_pipeline/versions/0.0.82"
    )
    # The fine-tuned MLflow model is the pipeline's own output, which `register` reads.
    assert properties["outputs"] == {
        "trained_model": {"jobOutputType": "mlflow_model", "mode": "ReadWriteMount"}
    }
    assert node["outputs"]["mlflow_model_folder"] == {
        "type": "literal",
        "value": "${{parent.outputs.trained_model}}",
    }
    inputs = node["inputs"]
    assert inputs["number_of_gpu_to_use_finetuning"]["value"] == "1"  # Standard_NC24ads_A100_v4
    assert inputs["compute_finetune"]["value"] == "a100"
    assert inputs["mlflow_model_path"]["uri"] == (
        "azureml://registries/azureml/models/Phi-3-mini-4k-instruct/versions/15"
    )
    assert properties["tags"] == {
        "environment": "dev",
        "git_commit": "0123abc",
        "project": "nlp-research",
        "recipe": "phi3-mini-chat-lora",
    }


def test_sdk_experimental_warnings_are_kept_out_of_the_output(
    serverless_outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    class Recorder(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    # azure-ai-ml prints through its own handler on "azure.ai.ml" (no propagation), once per
    # message per process: listen there, and forget what earlier tests already printed.
    recorder = Recorder()
    sdk = logging.getLogger("azure.ai.ml")
    sdk.addHandler(recorder)
    monkeypatch.setattr(logging.getLogger("azure.ai.ml._utils._experimental"), "level", logging.NOTSET)
    monkeypatch.setattr("azure.ai.ml._utils._experimental._warning_cache", set())
    try:
        dry_run(RECIPES / "llama-serverless.yaml", serverless_outputs_file, monkeypatch)
    finally:
        sdk.removeHandler(recorder)
    assert not [message for message in recorder.messages if "experimental" in message]
