"""The registry pipeline components this platform supports, pinned by version, with their inputs.

Each pinned version has an input table in `jobs/component_specs/<name>-<version>.yaml`,
transcribed from that version's spec in Azure/azureml-assets
(assets/training/finetune_acft_hf_nlp/components/pipeline_components/{chat_completion,
text_generation}/spec.yaml, at the commit the table names). The table drives how every input is
sent (literal or URI input, "true"/"false" enums) and what is checked before submission.

Labels such as "latest" move under our feet, so a recipe must name a pinned version. Moving a pin
is one line in `PINNED_VERSIONS` plus the new version's table, written by

    python -m jobs.components spec.yaml COMMIT > jobs/component_specs/NAME-VERSION.yaml

(and `jobs.checks` compares the table with the registry's copy whenever the registry is readable).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPECS = Path(__file__).parent / "component_specs"
SPEC_SOURCE = "Azure/azureml-assets"
_UPSTREAM_DIR = "assets/training/finetune_acft_hf_nlp/components/pipeline_components"

# component name -> the versions a recipe may pin, oldest first. The newest is what examples use.
PINNED_VERSIONS: Mapping[str, tuple[str, ...]] = {
    "chat_completion_pipeline": ("0.0.57", "0.0.82"),
    "text_generation_pipeline": ("0.0.51", "0.0.80"),
}

# Component input types that are sent as a URI input (`Input(type=..., path=...)`), not a literal.
URI_INPUT_TYPES = frozenset({"uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model"})


def registry_asset_uri(registry: str, kind: str, name: str, version: str) -> str:
    """An asset pinned in an Azure ML registry, e.g. kind "models", "components", "environments"."""
    return f"azureml://registries/{registry}/{kind}/{name}/versions/{version}"


# For --dry-run, where the workspace (and so its guid) has not been read.
WORKSPACE_GUID_PLACEHOLDER = "<workspace guid>"


def workspace_asset_uri(location: str, workspace_guid: str, kind: str, name: str, version: str) -> str:
    """An asset of a workspace by the workspace's region and guid (its `workspaceId`), the form a
    registry import takes as source and a serverless endpoint as fine-tuned model."""
    return f"azureml://locations/{location}/workspaces/{workspace_guid}/{kind}/{name}/versions/{version}"


@dataclass(frozen=True)
class ComponentInput:
    """One input of a component spec, as the spec declares it."""

    type: str
    optional: bool = False
    default: Any = None
    enum: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None

    @property
    def required(self) -> bool:
        # The service refuses a job that leaves out an input that is neither optional nor defaulted.
        return not self.optional and self.default is None

    @property
    def is_uri(self) -> bool:
        return self.type in URI_INPUT_TYPES


@dataclass(frozen=True)
class PinnedComponent:
    name: str
    version: str
    inputs: Mapping[str, ComponentInput]
    source_commit: str

    @property
    def registry_id(self) -> str:
        return registry_asset_uri("azureml", "components", self.name, self.version)

    @property
    def required(self) -> frozenset[str]:
        return frozenset(name for name, spec in self.inputs.items() if spec.required)


@dataclass(frozen=True)
class UriValue:
    """A URI input (data or model): sent as `Input(type=..., path=...)`, not as a literal."""

    type: str
    path: str


InputValue = str | int | float | bool | UriValue


def typed_value(spec: ComponentInput, value: str | int | float | bool) -> InputValue:
    """`value` as the component takes it, or ValueError saying why the component refuses it.

    Enum inputs take strings: the pipeline components' booleans are the enum "true"/"false", and
    `deepspeed_stage`/`precision` the strings "2"/"16"; a YAML `true` or `2` is mapped onto them.
    """
    if spec.is_uri:
        if not isinstance(value, str):
            raise ValueError(f"is a {spec.type} input: give a URI or azureml:name:version, not {value!r}")
        return UriValue(spec.type, value)
    if spec.enum:
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if text not in spec.enum:
            raise ValueError(f"must be one of {', '.join(spec.enum)}, not {value!r}")
        return text
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {value!r}")
        return value
    if spec.type in ("integer", "number"):
        wanted = (int,) if spec.type == "integer" else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise ValueError(
                f"must be {'an integer' if spec.type == 'integer' else 'a number'}, not {value!r}"
            )
        if spec.min is not None and value < spec.min:
            raise ValueError(f"must be >= {spec.min:g}")
        if spec.max is not None and value > spec.max:
            raise ValueError(f"must be <= {spec.max:g}")
        return value
    if spec.type == "string":
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    raise ValueError(f"has type {spec.type!r}, which recipes cannot set")


def spec_file(name: str, version: str) -> Path:
    return SPECS / f"{name}-{version}.yaml"


@cache
def pinned_component(name: str, version: str) -> PinnedComponent | None:
    """The pinned component, or None when this version is not pinned."""
    if version not in PINNED_VERSIONS.get(name, ()):
        return None
    document = yaml.safe_load(spec_file(name, version).read_text())
    inputs = {
        input_name: ComponentInput(
            type=str(entry["type"]),
            optional=bool(entry.get("optional", False)),
            default=entry.get("default"),
            enum=tuple(str(value) for value in entry.get("enum", ())),
            min=entry.get("min"),
            max=entry.get("max"),
        )
        for input_name, entry in document["inputs"].items()
    }
    return PinnedComponent(name, version, inputs, str(document["source"]["commit"]))


def supported_versions(name: str) -> list[str]:
    return list(PINNED_VERSIONS.get(name, ()))


def transcribe(spec: Mapping[str, Any], commit: str) -> dict[str, Any]:
    """The input table of an azureml-assets component spec: the facts we act on, no prose."""
    kept = ("type", "optional", "default", "enum", "min", "max")
    return {
        "name": spec["name"],
        "version": str(spec["version"]),
        "source": {
            "repository": SPEC_SOURCE,
            "path": f"{_UPSTREAM_DIR}/{str(spec['name']).removesuffix('_pipeline')}/spec.yaml",
            "commit": commit,
        },
        "inputs": {
            name: {key: entry[key] for key in kept if key in entry} for name, entry in spec["inputs"].items()
        },
    }


if __name__ == "__main__":  # python -m jobs.components SPEC.yaml COMMIT
    spec_path, source_commit = sys.argv[1:3]
    document = yaml.safe_load(Path(spec_path).read_text())
    sys.stdout.write(yaml.safe_dump(transcribe(document, source_commit), sort_keys=False))
