"""Declarative fine-tuning recipes: pydantic models and loading with file-and-field errors.

Only shape and self-contained ranges live here; anything that depends on where the job runs
(cluster size, SKU, registry contents) is in `jobs.checks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from jobs.components import registry_asset_uri
from jobs.errors import JobsError

_PINNED_VERSION = re.compile(r"^\d+(\.\d+)*$")
_DATA_ASSET = re.compile(r"^azureml:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$")
# Azure ML starts one process per GPU itself; a launcher in the command would start N*N.
_LAUNCHERS = re.compile(r"\b(torchrun|accelerate\s+launch|torch\.distributed\.(run|launch)|deepspeed\s)")
_COMMAND_REFERENCE = re.compile(r"\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a recipe: `field` is the dotted path inside the recipe file."""

    field: str
    message: str


def raise_problems(source: Path, problems: Iterable[Problem]) -> None:
    listed = sorted(set(problems), key=lambda problem: (problem.field, problem.message))
    if listed:
        raise JobsError("\n".join(f"{source}: {problem.field}: {problem.message}" for problem in listed))


def _pinned(version: str) -> str:
    if not _PINNED_VERSION.match(version):
        raise ValueError(f"must be a pinned version like 0.0.57, not {version!r} (labels move)")
    return version


DATA_PATH_HELP = "give an azureml:// or https:// URI or a registered data asset (azureml:name:version)"


def is_data_path(path: str) -> bool:
    """A path the job can read remotely: local paths would be uploaded anonymously and unpinned."""
    return path.startswith(("azureml://", "https://")) or bool(_DATA_ASSET.match(path))


def _data_path(path: str) -> str:
    if is_data_path(path):
        return path
    raise ValueError(f"{path!r} is not a remote path: {DATA_PATH_HELP}")


def _scalar(value: Any) -> str | int | float | bool:
    if isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"must be a string, number or boolean, not {type(value).__name__}")


PinnedVersion = Annotated[str, AfterValidator(_pinned)]
DataPath = Annotated[str, AfterValidator(_data_path)]
Scalar = Annotated[str | int | float | bool, PlainValidator(_scalar)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=255)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelRef(_Strict):
    registry: Name = "azureml"
    name: Name
    version: PinnedVersion

    @property
    def uri(self) -> str:
        return registry_asset_uri(self.registry, "models", self.name, self.version)


class ComponentRef(_Strict):
    name: Literal["chat_completion_pipeline", "text_generation_pipeline"]
    version: PinnedVersion


class FineTuneData(_Strict):
    train: DataPath
    validation: DataPath | None = None
    test: DataPath | None = None


class Lora(_Strict):
    enabled: bool = True
    r: int = Field(8, gt=0, le=1024)
    alpha: int = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    merge_weights: bool = True


class DeepSpeed(_Strict):
    enabled: bool = False
    stage: Literal[2, 3] = 2


class Training(_Strict):
    """Hugging Face Trainer hyperparameters, named as the pipeline components name them."""

    num_train_epochs: int = Field(1, ge=1, le=100)
    learning_rate: float = Field(2e-5, gt=0, le=1)
    per_device_train_batch_size: int = Field(1, ge=1, le=1024)
    per_device_eval_batch_size: int = Field(1, ge=1, le=1024)
    gradient_accumulation_steps: int = Field(1, ge=1, le=1024)
    warmup_steps: int = Field(0, ge=0)
    weight_decay: float = Field(0.0, ge=0, lt=1)
    max_seq_length: int = Field(-1, ge=-1)
    lr_scheduler_type: Literal[
        "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"
    ] = "linear"
    precision: Literal[16, 32] = 32
    seed: int = 42

    @model_validator(mode="after")
    def _sequence_length(self) -> Training:
        if self.max_seq_length == 0:
            raise ValueError("max_seq_length must be -1 (model maximum) or > 0")
        return self


class CatalogRecipe(_Strict):
    """Fine-tune a catalog model with a registry pipeline component on the project's cluster."""

    kind: Literal["catalog"]
    description: str = ""
    experiment: Name | None = None
    cluster: str | None = None
    nodes: int = Field(1, ge=1)
    component: ComponentRef
    model: ModelRef
    data: FineTuneData
    lora: Lora = Lora()
    deepspeed: DeepSpeed = DeepSpeed()
    training: Training = Training()
    extra_inputs: dict[str, Scalar] = {}


class EnvironmentRef(_Strict):
    registry: Literal["azureml"] = "azureml"
    name: Name
    version: PinnedVersion

    @property
    def uri(self) -> str:
        return registry_asset_uri(self.registry, "environments", self.name, self.version)


# A base image pinned by tag or digest: `latest` and untagged images move under our feet.
_PINNED_IMAGE = re.compile(r"^[a-z0-9.-]+(/[a-z0-9._-]+)+(:(?!latest$)[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$")


def _pinned_image(image: str) -> str:
    if not _PINNED_IMAGE.match(image):
        raise ValueError(f"must be an image pinned by tag or digest (not latest), not {image!r}")
    return image


class BuiltEnvironment(_Strict):
    """An environment the workspace builds: a pinned base image plus a pinned conda file."""

    image: Annotated[str, AfterValidator(_pinned_image)]
    conda_file: str = Field(min_length=1, description="relative to the recipe file")


class KeyVaultSecret(_Strict):
    """A secret the job reads at run time with its compute's managed identity. `vault` defaults
    to the project's own Key Vault (stack outputs `projects.<name>.key_vault`), the one vault the
    project's clusters may read (Key Vault Secrets User, infra/model/access.py)."""

    vault: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")] | None = None
    secret: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,127}$")]

    def uri(self, project_vault: str | None) -> str:
        vault = self.vault or project_vault
        if not vault:
            raise JobsError(
                f"secret {self.secret!r} names no vault and the stack outputs name no Key Vault for the "
                "project: give `vault:`"
            )
        return f"https://{vault}.vault.azure.net/secrets/{self.secret}"


# Environment variable names that carry credentials: a job's environment variables are visible
# in the studio and the job's REST resource to anyone who can read the workspace.
_SECRET_NAME = re.compile(r"(?i)(token|secret|password|passwd|api_?key|access_?key|credential)")
SECRET_REFERENCE_SUFFIX = "_KEYVAULT_SECRET"


class DataInput(_Strict):
    type: Literal["uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model"] = "uri_folder"
    path: DataPath
    mode: Literal["ro_mount", "download", "direct"] = "ro_mount"


class DataOutput(_Strict):
    type: Literal["uri_folder", "uri_file", "mlflow_model", "custom_model"] = "uri_folder"
    mode: Literal["rw_mount", "upload"] = "rw_mount"


class CustomRecipe(_Strict):
    """The project's own training code as a distributed PyTorch command job."""

    kind: Literal["custom"]
    description: str = ""
    experiment: Name | None = None
    cluster: str | None = None
    nodes: int = Field(1, ge=1)
    environment: EnvironmentRef | BuiltEnvironment
    code: str = Field(min_length=1, description="directory, relative to the recipe file")
    command: str = Field(min_length=1)
    inputs: dict[str, DataInput] = {}
    parameters: dict[str, Scalar] = {}
    outputs: dict[str, DataOutput] = {}
    environment_variables: dict[str, str] = {}
    # Environment variable name -> Key Vault secret: the job gets NAME_KEYVAULT_SECRET (the secret's
    # URI, not its value) and the training code resolves it with the compute's identity.
    secrets: dict[Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")], KeyVaultSecret] = {}
    shm_size: Annotated[str, Field(pattern=r"^\d+[kmg]$")] = "16g"

    @model_validator(mode="after")
    def _command_and_names(self) -> CustomRecipe:
        problems: list[str] = []
        if _LAUNCHERS.search(self.command):
            problems.append(
                "command: Azure ML starts one process per GPU itself; run `python script.py`, "
                "not torchrun / accelerate launch / deepspeed"
            )
        elif not re.search(r"\bpython3?\b", self.command):
            problems.append("command: must run `python ...` (Azure ML launches the processes)")
        for name in sorted(self.environment_variables):
            if _SECRET_NAME.search(name):
                problems.append(
                    f"environment_variables: {name} looks like a credential; environment variables are "
                    "readable by everyone with access to the workspace: put it under secrets: (a Key Vault "
                    "reference) instead"
                )
        clashes = sorted(set(self.inputs) & set(self.parameters))
        if clashes:
            problems.append(f"parameters: {', '.join(clashes)} also declared under inputs")
        declared = {"inputs": set(self.inputs) | set(self.parameters), "outputs": set(self.outputs)}
        for section, name in _COMMAND_REFERENCE.findall(self.command):
            if name not in declared[section]:
                problems.append(
                    f"command: references ${{{{{section}.{name}}}}} but {section}.{name} is not declared"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self


class ServerlessData(_Strict):
    training: DataPath
    # Required on purpose: azure-ai-ml 1.35.2 crashes (UnboundLocalError) without validation data.
    validation: DataPath


class ServerlessHyperparameters(_Strict):
    num_train_epochs: int = Field(1, ge=1, le=100)
    learning_rate: float = Field(2e-5, gt=0, le=1)
    per_device_train_batch_size: int = Field(1, ge=1, le=1024)

    def as_strings(self) -> dict[str, str]:
        # The service takes every hyperparameter as a string.
        return {key: str(value) for key, value in sorted(self.model_dump().items())}


class ServerlessRecipe(_Strict):
    """Model-as-a-service fine-tuning: no cluster, billed per token by the service."""

    kind: Literal["serverless"]
    description: str = ""
    experiment: Name | None = None
    model: ModelRef
    task: Literal[
        "ChatCompletion", "TextCompletion", "TextClassification", "QuestionAnswering", "TextSummarization"
    ]
    data: ServerlessData
    output_model_name_prefix: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,39}$")]
    hyperparameters: ServerlessHyperparameters = ServerlessHyperparameters()


Recipe = Annotated[CatalogRecipe | CustomRecipe | ServerlessRecipe, Field(discriminator="kind")]
_RECIPE_ADAPTER: TypeAdapter[CatalogRecipe | CustomRecipe | ServerlessRecipe] = TypeAdapter(Recipe)


@dataclass(frozen=True)
class LoadedRecipe:
    source: Path
    name: str  # the file stem: what `recipe` tags and job names carry
    recipe: CatalogRecipe | CustomRecipe | ServerlessRecipe


def load_recipe(source: Path) -> LoadedRecipe:
    try:
        document = yaml.safe_load(source.read_text())
    except OSError as error:
        raise JobsError(f"{source}: cannot read recipe: {error}") from error
    except yaml.YAMLError as error:
        raise JobsError(f"{source}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise JobsError(f"{source}: a recipe is a YAML mapping with a `kind` key")
    try:
        recipe = _RECIPE_ADAPTER.validate_python(document)
    except ValidationError as error:
        raise_problems(source, _problems_from(error, document))
        raise  # unreachable: raise_problems raises for a non-empty list
    return LoadedRecipe(source=source, name=source.stem, recipe=recipe)


_KINDS = ("catalog", "custom", "serverless")


def _problems_from(error: ValidationError, document: dict[str, Any]) -> list[Problem]:
    problems = []
    for detail in error.errors():
        location = [str(part) for part in detail["loc"]]
        if location and location[0] == document.get("kind") and location[0] in _KINDS:
            location = location[1:]  # the discriminator's branch name is not a recipe field
        problems.extend(_explain(".".join(location) or "(recipe)", detail["type"], detail["msg"], detail))
    return problems


def _explain(field: str, error_type: str, message: str, detail: Any) -> list[Problem]:
    context = detail.get("ctx", {})
    bounds = {
        "greater_than": ("> ", "gt"),
        "greater_than_equal": (">= ", "ge"),
        "less_than": ("< ", "lt"),
        "less_than_equal": ("<= ", "le"),
    }
    if error_type in bounds:
        symbol, key = bounds[error_type]
        bound = context[key]
        shown = format(bound, "g") if isinstance(bound, int | float) else str(bound)
        return [Problem(field, f"must be {symbol}{shown}")]
    if error_type == "extra_forbidden":
        return [Problem(field, "unknown key")]
    if error_type == "missing":
        return [Problem(field, "required")]
    if error_type == "union_tag_invalid" or error_type == "union_tag_not_found":
        return [Problem("kind", f"must be one of {', '.join(_KINDS)}")]
    if error_type == "value_error":
        # A model validator may report several `field: message` pairs at once.
        text = message.removeprefix("Value error, ")
        prefix = f"{field}." if field != "(recipe)" else ""
        pieces = [piece.split(": ", 1) for piece in text.split("\n")]
        if all(len(piece) == 2 and " " not in piece[0] for piece in pieces):
            return [Problem(prefix + piece[0], piece[1]) for piece in pieces]
        return [Problem(field, text)]
    return [Problem(field, message[0].lower() + message[1:] if message else error_type)]
