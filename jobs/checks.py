"""Checks the SDK does not make, run before anything is sent to Azure.

Each check returns `Problem`s naming the recipe field, so one run reports everything wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from infra.skus import GpuSku, find_sku
from jobs.build import catalog_values, environment_file
from jobs.components import PinnedComponent, UriValue, supported_versions, typed_value
from jobs.components import pinned_component as pinned_version
from jobs.errors import JobsError
from jobs.recipes import (
    DATA_PATH_HELP,
    CatalogRecipe,
    CustomRecipe,
    LoadedRecipe,
    Problem,
    ServerlessRecipe,
    Training,
    is_data_path,
    raise_problems,
)
from jobs.targets import Cluster, Target

# Inputs the recipe sets through its own fields; naming them again under extra_inputs would fight.
RECIPE_MANAGED_INPUTS: Mapping[str, str] = {
    "mlflow_model_path": "model",
    "train_file_path": "data.train",
    "validation_file_path": "data.validation",
    "test_file_path": "data.test",
    "compute_model_import": "cluster",
    "compute_preprocess": "cluster",
    "compute_finetune": "cluster",
    "compute_model_evaluation": "cluster",
    "number_of_gpu_to_use_finetuning": "cluster (GPUs per node of its VM size)",
    "num_nodes_finetune": "nodes",
    "apply_lora": "lora.enabled",
    "lora_r": "lora.r",
    "lora_alpha": "lora.alpha",
    "lora_dropout": "lora.dropout",
    "merge_lora_weights": "lora.merge_weights",
    "apply_deepspeed": "deepspeed.enabled",
    "deepspeed_stage": "deepspeed.stage",
    **{name: f"training.{name}" for name in Training.model_fields},
}


@dataclass(frozen=True)
class Placement:
    """The cluster a recipe runs on and the GPU size it carries (None for serverless)."""

    cluster: Cluster | None
    sku: GpuSku | None

    @property
    def gpus_per_node(self) -> int:
        return self.sku.gpus if self.sku else 0


class RegistryFacts(Protocol):
    """What the checks need from the `azureml` registry (absent offline)."""

    def model_tags(self, name: str, version: str, registry: str) -> Mapping[str, str]: ...

    def component_inputs(self, name: str, version: str) -> Mapping[str, str]:
        """Input name -> input type of the registry's copy of the component."""
        ...


def pinned_component(recipe: CatalogRecipe) -> PinnedComponent | None:
    return pinned_version(recipe.component.name, recipe.component.version)


def check_recipe(loaded: LoadedRecipe, target: Target) -> Placement:
    """Everything that can be checked from the recipe and the stack outputs alone."""
    recipe = loaded.recipe
    if isinstance(recipe, ServerlessRecipe):
        from jobs.serverless import region_problem

        problem = region_problem(recipe.model.name, target.location)
        raise_problems(loaded.source, [Problem("model", problem)] if problem else [])
        return Placement(None, None)
    problems: list[Problem] = []
    try:
        cluster = target.cluster(recipe.cluster)
    except JobsError as error:
        raise_problems(loaded.source, [Problem("cluster", str(error))])
        raise
    sku = find_sku(cluster.vm_size)
    if sku is None:
        problems.append(
            Problem(
                "cluster", f"cluster {cluster.name!r} has VM size {cluster.vm_size}, not a known GPU size"
            )
        )
    if recipe.nodes > cluster.max_nodes:
        problems.append(
            Problem(
                "nodes",
                f"{recipe.nodes} nodes exceeds cluster {cluster.name!r} max_nodes {cluster.max_nodes}",
            )
        )
    if isinstance(recipe, CatalogRecipe):
        problems.extend(_component_problems(recipe, cluster.name, sku.gpus if sku else 1))
    if isinstance(recipe, CustomRecipe):
        problems.extend(_code_problems(loaded.source, recipe))
        conda_file = environment_file(loaded)
        if conda_file is not None and not conda_file.is_file():
            problems.append(Problem("environment.conda_file", f"file {conda_file} does not exist"))
    raise_problems(loaded.source, problems)
    return Placement(cluster, sku)


def _component_problems(recipe: CatalogRecipe, cluster_name: str, gpus: int) -> Iterable[Problem]:
    component = pinned_component(recipe)
    if component is None:
        versions = ", ".join(supported_versions(recipe.component.name))
        yield Problem(
            "component.version",
            f"{recipe.component.name} {recipe.component.version} is not a supported pinned version "
            f"(supported: {versions}); pin it with its input table in jobs/components.py first",
        )
        return
    for name in sorted(recipe.extra_inputs):
        if name in RECIPE_MANAGED_INPUTS:
            yield Problem(
                f"extra_inputs.{name}", f"set through the recipe's {RECIPE_MANAGED_INPUTS[name]} instead"
            )
    # Every input we send, typed by the pinned version's table: unknown names, enums, types, ranges.
    label = f"{component.name} {component.version}"
    values = catalog_values(recipe, cluster_name, gpus)
    for name, value in values.items():
        field = RECIPE_MANAGED_INPUTS.get(name, f"extra_inputs.{name}")
        spec = component.inputs.get(name)
        if spec is None:
            yield Problem(field, f"{label} has no input {name!r}")
            continue
        try:
            typed = typed_value(spec, value)
        except ValueError as error:
            yield Problem(field, f"{label} input {name!r} {error}")
            continue
        if isinstance(typed, UriValue) and not is_data_path(typed.path):
            yield Problem(field, f"{label} input {name!r} is a {spec.type} input: {DATA_PATH_HELP}")
    for name in sorted(component.required - set(values)):
        yield Problem(f"extra_inputs.{name}", f"required by {label}")


def _data_paths(loaded: LoadedRecipe) -> dict[str, str]:
    """Recipe field -> data path, for every data input of the recipe."""
    recipe = loaded.recipe
    if isinstance(recipe, CatalogRecipe):
        fields = {"data.train": recipe.data.train, "data.validation": recipe.data.validation}
        fields["data.test"] = recipe.data.test
    elif isinstance(recipe, CustomRecipe):
        fields = {f"inputs.{name}.path": value.path for name, value in recipe.inputs.items()}
    else:
        fields = {"data.training": recipe.data.training, "data.validation": recipe.data.validation}
    return {field: path for field, path in sorted(fields.items()) if path}


def mutable_data_notes(loaded: LoadedRecipe) -> list[str]:
    """A job's name hashes the recipe, so the data's *path*: only `azureml:name:version` pins the
    content (a data asset version is immutable). Say so for every other path."""
    return [
        f"{field} is {path!r}, not a versioned data asset (azureml:name:version): the job name does not "
        "change when the data behind it does, so a rerun attaches to the old job; register the data "
        "as an asset version, or pass --force-new after changing it"
        for field, path in _data_paths(loaded).items()
        if not path.startswith("azureml:") or path.startswith("azureml://")
    ]


def _code_problems(source: Path, recipe: CustomRecipe) -> Iterable[Problem]:
    code_dir = code_directory(source, recipe)
    if not code_dir.is_dir():
        yield Problem("code", f"directory {code_dir} does not exist")
        return
    script = re.search(r"\bpython3?\s+(?:-u\s+)?(\S+\.py)\b", recipe.command)
    if script and not (code_dir / script.group(1)).is_file():
        yield Problem("command", f"script {script.group(1)} is not in {code_dir}")


def code_directory(source: Path, recipe: CustomRecipe) -> Path:
    return (source.parent / recipe.code).resolve()


def parse_allow_list(tag: str) -> list[str]:
    """Catalog tags hold lists as JSON-ish strings: '["Standard_NC24ads_A100_v4", ...]' or with '."""
    return [
        item.strip().strip("'\"") for item in tag.strip().strip("[]").split(",") if item.strip().strip("'\"")
    ]


def refused_by_allow_list(tag: str | None, vm_size: str) -> list[str] | None:
    """The sizes a model's allow-list tag names, when it exists and does not name `vm_size`
    (compared case-blind); None when the size is allowed or the model has no such tag."""
    if tag is None:
        return None
    allowed = parse_allow_list(tag)
    return None if vm_size.lower() in {size.lower() for size in allowed} else allowed


def check_against_registry(loaded: LoadedRecipe, placement: Placement, registry: RegistryFacts) -> None:
    """Checks that need the `azureml` registry: compute allow-list and the real component inputs."""
    recipe = loaded.recipe
    if not isinstance(recipe, CatalogRecipe) or placement.cluster is None:
        return
    problems: list[Problem] = []
    tags = registry.model_tags(recipe.model.name, recipe.model.version, recipe.model.registry)
    allowed = refused_by_allow_list(tags.get("finetune_compute_allow_list"), placement.cluster.vm_size)
    if allowed is not None:
        problems.append(
            Problem(
                "cluster",
                f"{recipe.model.name} {recipe.model.version} cannot be fine-tuned on "
                f"{placement.cluster.vm_size} (cluster {placement.cluster.name!r}); "
                f"its finetune_compute_allow_list is: {', '.join(allowed)}",
            )
        )
    component = pinned_component(recipe)
    if component is not None:
        real_inputs = registry.component_inputs(component.name, component.version)
        sent = catalog_values(recipe, placement.cluster.name, placement.gpus_per_node)
        for name in sorted(sent):
            field = RECIPE_MANAGED_INPUTS.get(name, f"extra_inputs.{name}")
            label = f"the registry's {component.name} {component.version}"
            if name not in real_inputs:
                problems.append(Problem(field, f"{label} has no input {name!r}"))
            elif real_inputs[name] and real_inputs[name] != component.inputs[name].type:
                # The transcribed table is out of date: the value would be typed wrongly.
                problems.append(
                    Problem(
                        field,
                        f"{label} declares input {name!r} as {real_inputs[name]}, jobs/component_specs "
                        f"says {component.inputs[name].type}: re-transcribe the table",
                    )
                )
    raise_problems(loaded.source, problems)
