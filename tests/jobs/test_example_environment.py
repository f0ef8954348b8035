"""The custom example runs on its environment: every library train.py imports is pinned there,
its Hugging Face token comes from Key Vault, not from a plain environment variable, and what it
writes is an MLflow model (merged weights, tokenizer, chat task) in the recipe's
`type: mlflow_model` output, which `register` takes."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from typing import Any

import yaml
from stackdata import REPO

EXAMPLE = REPO / "jobs" / "examples" / "trl_sft" / "train.py"
CONDA = REPO / "jobs" / "examples" / "environments" / "trl-sft.conda.yaml"
RECIPE = REPO / "jobs" / "recipes" / "llama-sft-custom.yaml"
# Import name -> distribution name, where they differ.
DISTRIBUTIONS = {
    "azure.identity": "azure-identity",
    "azure.keyvault.secrets": "azure-keyvault-secrets",
    # mlflow-skinny ships the transformers flavor; azureml-mlflow caps it (<=3.15.0).
    "mlflow.transformers": "mlflow-skinny",
}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def pinned_pip_packages() -> dict[str, str]:
    document = yaml.safe_load(CONDA.read_text())
    [pip] = [entry["pip"] for entry in document["dependencies"] if isinstance(entry, dict)]
    return dict(requirement.split("==", 1) for requirement in pip)


def test_every_third_party_import_of_the_example_is_pinned_in_its_environment() -> None:
    pinned = pinned_pip_packages()
    third_party = {
        module
        for module in imported_modules(EXAMPLE)
        if module.split(".")[0] not in sys.stdlib_module_names and module != "__future__"
    }
    # datasets, peft, trl, azure.*: what the curated environment lacked; mlflow for the output.
    assert {"datasets", "peft", "trl", "transformers", "mlflow.transformers"} <= third_party
    for module in third_party:
        distribution = DISTRIBUTIONS.get(module, module.split(".")[0])
        assert distribution in pinned, f"{module} is imported by train.py but not pinned in {CONDA.name}"
    assert all(version[0].isdigit() for version in pinned.values())  # exact pins, no ranges
    # transformers backs trl and peft; mlflow reporting goes through azureml-mlflow.
    assert {"torch", "transformers", "azureml-mlflow"} <= set(pinned)


# The transformers releases the transformers flavor of mlflow-skinny 3.15.0 supports
# (mlflow/ml_package_versions.py in its wheel: "transformers" -> "models" -> minimum/maximum).
MLFLOW_SKINNY = "3.15.0"
MLFLOW_TRANSFORMERS_RANGE = ("4.43.4", "5.14.1")


def release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def test_transformers_is_a_release_the_pinned_mlflow_flavor_supports() -> None:
    pinned = pinned_pip_packages()
    # The range below is mlflow-skinny 3.15.0's: a new mlflow pin needs its range read again.
    assert pinned["mlflow-skinny"] == MLFLOW_SKINNY
    low, high = (release(v) for v in MLFLOW_TRANSFORMERS_RANGE)
    assert low <= release(pinned["transformers"]) <= high, (
        f"transformers {pinned['transformers']} is outside the {MLFLOW_TRANSFORMERS_RANGE} that "
        f"mlflow-skinny {MLFLOW_SKINNY}'s transformers flavor supports"
    )


def test_secret_references_are_resolved_at_startup_and_only_those() -> None:
    train = load_example()
    uri = "https://kv-mlp-dev-nlp-research.vault.azure.net/secrets/huggingface-token"
    environ = {"HF_TOKEN_KEYVAULT_SECRET": uri, "NCCL_DEBUG": "WARN"}
    fetched: list[str] = []

    def fetch(reference: str) -> str:
        fetched.append(reference)
        return "hf_secret_value"

    assert train.resolve_secrets(environ, fetch) == ["HF_TOKEN"]
    assert environ["HF_TOKEN"] == "hf_secret_value" and fetched == [uri]
    assert environ["NCCL_DEBUG"] == "WARN"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("trl_sft_train", EXAMPLE)
    assert spec and spec.loader
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    return train


def test_the_recipe_declares_the_examples_output_as_an_mlflow_model() -> None:
    recipe = yaml.safe_load(RECIPE.read_text())
    assert "--output-dir ${{outputs.model}}" in recipe["command"]
    assert recipe["outputs"] == {"model": {"type": "mlflow_model"}}


def test_the_example_saves_the_merged_model_with_its_tokenizer_as_an_mlflow_chat_model() -> None:
    train = load_example()
    merged, tokenizer = object(), object()

    class Adapter:
        """What the trainer holds after LoRA training: a peft model."""

        def merge_and_unload(self) -> object:
            return merged

    saved: list[dict[str, Any]] = []
    built: list[dict[str, Any]] = []

    def pipeline(**kwargs: Any) -> str:
        built.append(kwargs)
        return "text-generation pipeline"

    train.save_mlflow_model(
        Adapter(), tokenizer, "/mnt/outputs/model", lambda **kwargs: saved.append(kwargs), pipeline
    )
    # The full model: the adapter alone would need peft and the base weights at serving time.
    assert built == [{"task": "text-generation", "model": merged, "tokenizer": tokenizer}]
    assert saved == [
        {
            "transformers_model": "text-generation pipeline",
            "path": "/mnt/outputs/model",
            "task": "llm/v1/chat",
        }
    ]
