"""Recipe + target -> azure-ai-ml job entities, named by a hash of what they would run.

azure.ai.ml is imported inside the functions: it takes seconds to import and the CLI's
`--help` must not pay for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.components import InputValue, PinnedComponent, UriValue, pinned_component, typed_value
from jobs.errors import JobsError
from jobs.recipes import CatalogRecipe, CustomRecipe, LoadedRecipe, ServerlessRecipe
from jobs.targets import Cluster, Target

Scalar = str | int | float | bool
# The catalog pipeline job's output that carries the fine-tuned MLflow model.
TRAINED_MODEL_OUTPUT = "trained_model"


@dataclass(frozen=True)
class BuiltJob:
    name: str
    kind: str
    entity: Any  # PipelineJob | Command | CustomModelFineTuningJob: the SDK does not share a base we can use


def catalog_values(recipe: CatalogRecipe, cluster_name: str, gpus_per_node: int) -> dict[str, Scalar]:
    """The pipeline component's inputs as the recipe gives them (booleans, numbers, URIs), before
    the pinned component's input table types them (`typed_catalog_inputs`)."""
    training = recipe.training
    values: dict[str, Scalar] = {
        "mlflow_model_path": recipe.model.uri,
        "train_file_path": recipe.data.train,
        "compute_model_import": cluster_name,
        "compute_preprocess": cluster_name,
        "compute_finetune": cluster_name,
        "compute_model_evaluation": cluster_name,
        "number_of_gpu_to_use_finetuning": gpus_per_node,
        "num_nodes_finetune": recipe.nodes,
        "apply_lora": recipe.lora.enabled,
        "apply_deepspeed": recipe.deepspeed.enabled,
        **training.model_dump(),
    }
    if recipe.data.validation:
        values["validation_file_path"] = recipe.data.validation
    if recipe.data.test:
        values["test_file_path"] = recipe.data.test
    if recipe.lora.enabled:
        values.update(
            lora_r=recipe.lora.r,
            lora_alpha=recipe.lora.alpha,
            lora_dropout=recipe.lora.dropout,
            merge_lora_weights=recipe.lora.merge_weights,
        )
    if recipe.deepspeed.enabled:
        values["deepspeed_stage"] = recipe.deepspeed.stage
    values.update(recipe.extra_inputs)
    return dict(sorted(values.items()))


def typed_catalog_inputs(
    recipe: CatalogRecipe, component: PinnedComponent, cluster_name: str, gpus_per_node: int
) -> dict[str, InputValue]:
    """Every input typed by the pinned component's table; `jobs.checks` has reported any refusal."""
    typed: dict[str, InputValue] = {}
    for name, value in catalog_values(recipe, cluster_name, gpus_per_node).items():
        try:
            typed[name] = typed_value(component.inputs[name], value)
        except (KeyError, ValueError) as error:
            raise JobsError(f"input {name!r} of {component.name} {component.version}: {error}") from error
    return typed


def environment_file(loaded: LoadedRecipe) -> Path | None:
    """The conda file of a custom recipe's built environment, resolved from the recipe's folder."""
    from jobs.recipes import BuiltEnvironment

    recipe = loaded.recipe
    if isinstance(recipe, CustomRecipe) and isinstance(recipe.environment, BuiltEnvironment):
        return (loaded.source.parent / recipe.environment.conda_file).resolve()
    return None


def code_digest(code_dir: Path) -> str:
    """Content hash of the code directory: new code means a new job, same code the same job."""
    digest = hashlib.sha256()
    for path in sorted(code_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(code_dir).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def job_name(
    loaded: LoadedRecipe, target: Target, cluster: Cluster | None, code_hash: str, suffix: str
) -> str:
    """Deterministic: the same recipe content, inputs and target always give the same name."""
    identity = {
        "recipe": loaded.recipe.model_dump(mode="json"),
        "recipe_name": loaded.name,
        "workspace": target.workspace_scope,
        "cluster": cluster.id if cluster else None,
        "code": code_hash,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    slug = re.sub(r"[^a-z0-9]+", "-", loaded.name.lower()).strip("-")[:40] or "recipe"
    if not slug[0].isalpha():
        slug = f"job-{slug}"
    return f"{slug}-{digest}" + (f"-{suffix}" if suffix else "")


def job_tags(loaded: LoadedRecipe, target: Target, git_commit: str) -> dict[str, str]:
    return {
        "project": target.project,
        "environment": target.environment,
        "recipe": loaded.name,
        "git_commit": git_commit,
    }


def build_job(
    loaded: LoadedRecipe,
    target: Target,
    cluster: Cluster | None,
    gpus_per_node: int,
    git_commit: str,
    suffix: str = "",
    force_rerun: bool = False,
) -> BuiltJob:
    """`suffix` makes a new job name (`--force-new`); `force_rerun` makes a pipeline recompute every
    step instead of reusing the outputs of identical steps of earlier jobs (the service's
    default), so that a new job really trains again."""
    recipe = loaded.recipe
    tags = job_tags(loaded, target, git_commit)
    experiment = recipe.experiment or target.project
    if isinstance(recipe, CatalogRecipe):
        assert cluster is not None  # checks resolve a cluster for every non-serverless recipe
        name = job_name(loaded, target, cluster, "", suffix)
        entity = _catalog_job(recipe, cluster, gpus_per_node, name, experiment, tags, force_rerun)
    elif isinstance(recipe, CustomRecipe):
        assert cluster is not None
        code_dir = (loaded.source.parent / recipe.code).resolve()
        conda_file = environment_file(loaded)
        # New code or a new environment spec means a new job, the same ones the same job.
        content = code_digest(code_dir) + (
            hashlib.sha256(conda_file.read_bytes()).hexdigest() if conda_file else ""
        )
        name = job_name(loaded, target, cluster, content, suffix)
        entity = _custom_job(
            recipe, code_dir, conda_file, cluster, gpus_per_node, name, experiment, tags, target.key_vault
        )
    else:
        name = job_name(loaded, target, None, "", suffix)
        entity = _serverless_job(recipe, name, experiment, tags)
    entity.display_name = loaded.name
    if recipe.description:
        entity.description = recipe.description
    return BuiltJob(name=name, kind=recipe.kind, entity=entity)


def _catalog_job(
    recipe: CatalogRecipe,
    cluster: Cluster,
    gpus: int,
    name: str,
    experiment: str,
    tags: dict[str, str],
    force_rerun: bool,
) -> Any:
    from azure.ai.ml import Input, Output
    from azure.ai.ml.entities import PipelineJob, PipelineJobSettings

    from jobs.sdk_private import registry_pipeline_node

    component = pinned_component(recipe.component.name, recipe.component.version)
    assert component is not None  # checks refuse versions that are not pinned
    inputs: dict[str, Any] = {
        key: Input(type=value.type, path=value.path) if isinstance(value, UriValue) else value
        for key, value in typed_catalog_inputs(recipe, component, cluster.name, gpus).items()
    }
    # Multi-node fine-tuning writes checkpoints from every node: outputs must be read-write mounts.
    # The MLflow model is also the pipeline's own output `trained_model`, which `register` reads
    # as azureml://jobs/<job>/outputs/trained_model (as Azure/azureml-examples' chat-completion
    # fine-tuning notebook maps `chat_completion_pipeline.outputs.mlflow_model_folder`).
    outputs: dict[str, str | Output] = {
        "pytorch_model_folder": Output(type="uri_folder", mode="rw_mount"),
        "mlflow_model_folder": f"${{{{parent.outputs.{TRAINED_MODEL_OUTPUT}}}}}",
    }
    node = registry_pipeline_node(component.registry_id, inputs, outputs)
    job = PipelineJob(
        jobs={"finetune": node},
        outputs={TRAINED_MODEL_OUTPUT: Output(type="mlflow_model", mode="rw_mount")},
        compute=cluster.id,
        name=name,
        experiment_name=experiment,
        tags=tags,
        settings=PipelineJobSettings(force_rerun=force_rerun, continue_on_step_failure=False),
    )
    return job


def _custom_job(
    recipe: CustomRecipe,
    code_dir: Path,
    conda_file: Path | None,
    cluster: Cluster,
    gpus: int,
    name: str,
    experiment: str,
    tags: dict[str, str],
    project_vault: str | None,
) -> Any:
    from azure.ai.ml import Input, Output, PyTorchDistribution, command
    from azure.ai.ml.entities import Environment, ManagedIdentityConfiguration

    from jobs.recipes import SECRET_REFERENCE_SUFFIX, BuiltEnvironment

    if isinstance(recipe.environment, BuiltEnvironment):
        # Built by the workspace: an anonymous environment, registered by content hash at submission.
        assert conda_file is not None  # environment_file() resolves it for every built environment
        environment: Any = Environment(image=recipe.environment.image, conda_file=os.path.relpath(conda_file))
    else:
        environment = recipe.environment.uri
    variables = dict(recipe.environment_variables)
    variables.update(
        {f"{name}{SECRET_REFERENCE_SUFFIX}": ref.uri(project_vault) for name, ref in recipe.secrets.items()}
    )
    inputs: dict[str, Any] = {
        key: Input(type=value.type, path=value.path, mode=value.mode)
        for key, value in sorted(recipe.inputs.items())
    }
    inputs.update(sorted(recipe.parameters.items()))
    return command(
        # Relative to the working directory so that dry-run output does not depend on where the
        # repository is checked out.
        code=os.path.relpath(code_dir),
        command=recipe.command,
        environment=environment,
        inputs=inputs,
        outputs={
            key: Output(type=value.type, mode=value.mode) for key, value in sorted(recipe.outputs.items())
        },
        environment_variables=dict(sorted(variables.items())),
        # Secrets are read by the job with the compute's managed identity (Key Vault Secrets User
        # on the project's vault, granted by infra/model/access.py), never passed as values.
        identity=ManagedIdentityConfiguration() if recipe.secrets else None,
        compute=cluster.id,
        instance_count=recipe.nodes,
        distribution=PyTorchDistribution(process_count_per_instance=gpus),
        shm_size=recipe.shm_size,
        name=name,
        experiment_name=experiment,
        tags=tags,
    )


def _serverless_job(recipe: ServerlessRecipe, name: str, experiment: str, tags: dict[str, str]) -> Any:
    from azure.ai.ml.finetuning import create_finetuning_job

    return create_finetuning_job(
        model=recipe.model.uri,
        task=recipe.task,
        training_data=recipe.data.training,
        validation_data=recipe.data.validation,
        output_model_name_prefix=recipe.output_model_name_prefix,
        hyperparameters=recipe.hyperparameters.as_strings(),
        name=name,
        experiment_name=experiment,
        tags=tags,
    )
