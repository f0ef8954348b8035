"""The registry pipeline components this platform supports, pinned by version.

Input names and types are transcribed from each version's component spec
(Azure/azureml-assets: assets/training/finetune_acft_hf_nlp/components/pipeline_components/
{chat_completion,text_generation}/spec.yaml). Labels such as "latest" move under our feet, so a
recipe must name one of these versions; supporting a new version means adding its inputs here
(and `jobs.checks` compares this list with the registry's copy whenever the registry is readable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


def registry_asset_uri(registry: str, kind: str, name: str, version: str) -> str:
    """An asset pinned in an Azure ML registry, e.g. kind "models", "components", "environments"."""
    return f"azureml://registries/{registry}/{kind}/{name}/versions/{version}"


@dataclass(frozen=True)
class PinnedComponent:
    name: str
    version: str
    inputs: Mapping[str, str]  # input name -> component input type
    required: frozenset[str]  # inputs that are neither optional nor defaulted

    @property
    def registry_id(self) -> str:
        return registry_asset_uri("azureml", "components", self.name, self.version)


_COMMON_INPUTS: dict[str, str] = {
    "instance_type_model_import": "string",
    "instance_type_preprocess": "string",
    "instance_type_finetune": "string",
    "instance_type_model_evaluation": "string",
    "shm_size_finetune": "string",
    "num_nodes_finetune": "integer",
    "number_of_gpu_to_use_finetuning": "integer",
    "huggingface_id": "string",
    "pytorch_model_path": "custom_model",
    "mlflow_model_path": "mlflow_model",
    "task_name": "string",
    "batch_size": "integer",
    "pad_to_max_length": "string",
    "max_seq_length": "integer",
    "train_file_path": "uri_file",
    "validation_file_path": "uri_file",
    "test_file_path": "uri_file",
    "train_mltable_path": "mltable",
    "validation_mltable_path": "mltable",
    "test_mltable_path": "mltable",
    "apply_lora": "string",
    "merge_lora_weights": "string",
    "lora_alpha": "integer",
    "lora_r": "integer",
    "lora_dropout": "number",
    "num_train_epochs": "integer",
    "max_steps": "integer",
    "per_device_train_batch_size": "integer",
    "per_device_eval_batch_size": "integer",
    "auto_find_batch_size": "string",
    "optim": "string",
    "learning_rate": "number",
    "warmup_steps": "integer",
    "weight_decay": "number",
    "adam_beta1": "number",
    "adam_beta2": "number",
    "adam_epsilon": "number",
    "gradient_accumulation_steps": "integer",
    "eval_accumulation_steps": "integer",
    "lr_scheduler_type": "string",
    "precision": "string",
    "seed": "integer",
    "enable_full_determinism": "string",
    "dataloader_num_workers": "integer",
    "ignore_mismatched_sizes": "string",
    "max_grad_norm": "number",
    "evaluation_strategy": "string",
    "evaluation_steps_interval": "number",
    "eval_steps": "integer",
    "logging_strategy": "string",
    "logging_steps": "integer",
    "metric_for_best_model": "string",
    "resume_from_checkpoint": "string",
    "save_total_limit": "integer",
    "apply_early_stopping": "string",
    "early_stopping_patience": "integer",
    "early_stopping_threshold": "number",
    "apply_deepspeed": "string",
    "deepspeed": "uri_file",
    "deepspeed_stage": "string",
    "apply_ort": "string",
    "evaluation_config": "uri_file",
    "evaluation_config_params": "string",
    "compute_model_import": "string",
    "compute_preprocess": "string",
    "compute_finetune": "string",
    "compute_model_evaluation": "string",
}

_TEXT_GENERATION_ONLY: dict[str, str] = {
    "text_key": "string",
    "ground_truth_key": "string",
    "system_properties": "string",
}

PINNED_COMPONENTS: Mapping[tuple[str, str], PinnedComponent] = {
    ("chat_completion_pipeline", "0.0.57"): PinnedComponent(
        "chat_completion_pipeline", "0.0.57", dict(_COMMON_INPUTS), frozenset()
    ),
    ("text_generation_pipeline", "0.0.51"): PinnedComponent(
        "text_generation_pipeline",
        "0.0.51",
        {**_COMMON_INPUTS, **_TEXT_GENERATION_ONLY},
        frozenset({"text_key"}),
    ),
}


def supported_versions(name: str) -> list[str]:
    return sorted(version for component, version in PINNED_COMPONENTS if component == name)
