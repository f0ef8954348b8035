"""The custom example runs on its environment: every library train.py imports is pinned there,
its Hugging Face token comes from Key Vault, not from a plain environment variable, and what it
writes is an MLflow model (merged weights, tokenizer, chat task) in the recipe's
`type: mlflow_model` output, which `register` takes."""

from __future__ import annotations

import ast
import importlib.util
import json
import string
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
    "mlflow.models": "mlflow-skinny",
    "mlflow.types.schema": "mlflow-skinny",
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


class ChatTokenizer:
    """A tokenizer whose chat template starts with its BOS token and writes braces of its own."""

    bos_token = "<s>"

    def apply_chat_template(self, messages: list[dict[str, str]], **kwargs: Any) -> str:
        assert kwargs == {"tokenize": False, "add_generation_prompt": True}
        [message] = messages
        return f"<s><|user|>{{x}}\n{message['content']}<|end|>\n<|assistant|>\n"


def format_fields(template: str) -> list[str]:
    # How mlflow.transformers validates a prompt_template (_validate_prompt_template): exactly one
    # field, `prompt`.
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


def test_the_prompt_template_is_the_chat_template_around_one_user_message() -> None:
    template = load_example().chat_prompt_template(ChatTokenizer())
    assert format_fields(template) == ["prompt"]
    assert template.format(prompt="hi") == "<|user|>{x}\nhi<|end|>\n<|assistant|>\n"


def test_the_example_saves_the_merged_model_as_a_string_in_string_out_mlflow_model() -> None:
    train = load_example()
    merged, tokenizer, signature = object(), ChatTokenizer(), object()

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
        Adapter(), tokenizer, "/mnt/outputs/model", lambda **kwargs: saved.append(kwargs), pipeline, signature
    )
    # The full model: the adapter alone would need peft and the base weights at serving time.
    assert built == [{"task": "text-generation", "model": merged, "tokenizer": tokenizer}]
    [call] = saved
    assert call["transformers_model"] == "text-generation pipeline" and call["path"] == "/mnt/outputs/model"
    assert call["signature"] is signature and format_fields(call["prompt_template"]) == ["prompt"]
    # Not MLflow's chat task: Azure ML's no-code scoring script cannot build a sample for its
    # `messages` column and would not start (azureml-assets mlflow_score_script.py).
    assert "task" not in call


def test_the_examples_sample_request_is_one_the_scoring_script_passes_to_the_model() -> None:
    # Azure ML's MLflow scoring script takes `input_data.parameters` as the predict params and,
    # when `input_string` is all that is left, that list as the model input; a list of strings
    # goes to the model as it is (azureml-assets mlflow_score_script.py, run()).
    request = json.loads((REPO / "jobs" / "examples" / "sample-requests" / "trl-sft.json").read_text())
    data = request["input_data"]
    assert set(data) == {"input_string", "parameters"}
    assert data["input_string"] and all(isinstance(text, str) for text in data["input_string"])
    # Parameters the signature does not declare are ignored by MLflow.
    assert set(data["parameters"]) <= set(load_example().GENERATION_PARAMS)
