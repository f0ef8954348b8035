"""The stack outputs: the one contract between `infra/` and `jobs/`.

The program builds a `StackOutputs` and exports `to_json()` of it (infra/program.py), so the
offline plan's outputs and `pulumi stack output --json` have this shape; the jobs layer reads them
back with `StackOutputs.read` (jobs/targets.py). docs/stack-outputs.md shows the same keys, and
tests/infra/test_stack_outputs.py fails when the two differ. Changing a field here is a breaking
change for both sides.

`T` is the type of the values Azure decides: `pulumi.Output[str]` where the program exports
them, `str` once read back. Fields typed `... | None` are absent from the outputs of stacks
deployed before they existed; a reader gets None for them.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class OutputsMismatch(ValueError):
    """Stack outputs that do not have the contract's shape; the message names the key path."""


@dataclass(frozen=True)
class ClusterOutputs(Generic[T]):
    """`projects.<project>.clusters.<name>`: keyed by compute name, which `name` repeats."""

    name: str
    id: T
    vm_size: str
    min_nodes: int
    max_nodes: int
    gpus_per_node: int
    vcpus_per_node: int
    priority: str


@dataclass(frozen=True)
class WorkspaceIdentityOutputs(Generic[T]):
    """The workspace's primary (and only) identity, a user-assigned one of the project's own."""

    id: T
    client_id: T
    principal_id: T


@dataclass(frozen=True)
class ProjectOutputs(Generic[T]):
    """`projects.<name>`: keyed by project name (the file name of stacks/projects/<name>.yaml)."""

    location: str | None  # the workspace's region (the environment's unless the project chose one)
    resource_group: T
    workspace_name: T
    workspace_id: T
    storage_account: T
    key_vault: T | None
    container_registry: T | None
    workspace_identity: WorkspaceIdentityOutputs[T] | None
    # How the workspace's jobs reach the registry (infra/model/network.py RegistryPath.kind).
    registry_path: str | None
    clusters: Mapping[str, ClusterOutputs[T]]


@dataclass(frozen=True)
class RegistryOutputs(Generic[T]):
    name: T
    id: T
    managed: bool  # this stack creates the registry (false: it references an existing one)


@dataclass(frozen=True)
class StackOutputs(Generic[T]):
    environment: str
    location: str
    subscription_id: str
    tenant_id: str
    # What deploying needs to know about the environment (jobs/targets.py EnvironmentFacts).
    production: bool | None
    public_network_access: bool | None
    gpu_quota: Mapping[str, int] | None  # vCPUs per VM family, in the environment's location
    # the quota of the other regions projects' workspaces are in
    gpu_quota_by_region: Mapping[str, Mapping[str, int]] | None
    shared_resource_group: T
    registry: RegistryOutputs[T]
    projects: Mapping[str, ProjectOutputs[T]]

    def to_json(self) -> dict[str, Any]:
        """The exported form: nested dicts in field order, values as they are (Outputs stay
        Outputs: a deep copy, as `dataclasses.asdict` makes, would copy them)."""
        return _plain(self)

    @staticmethod
    def read(raw: Mapping[str, Any]) -> StackOutputs[str]:
        """The outputs a reader got back (`pulumi stack output --json`, a saved file, the offline
        plan), checked against the contract. Numbers may arrive as floats (2.0)."""
        return _read(StackOutputs, raw, "")


# --- reflection over the fields' types ---------------------------------------------------------


def field_types(cls: type) -> dict[str, Any]:
    """A contract class's fields and their types, in field order."""
    # With postponed annotations the types are strings; this module's globals resolve them.
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in fields(cls)}


def _optional(hint: Any) -> tuple[Any, bool]:
    args = typing.get_args(hint)
    if type(None) in args:
        (inner,) = [arg for arg in args if arg is not type(None)]
        return inner, True
    return hint, False


def nested_class(hint: Any) -> type | None:
    inner, _ = _optional(hint)
    origin = typing.get_origin(inner) or inner
    return origin if isinstance(origin, type) and is_dataclass(origin) else None


def mapping_value(hint: Any) -> Any:
    inner, _ = _optional(hint)
    if typing.get_origin(inner) is Mapping:
        return typing.get_origin(typing.get_args(inner)[1]) or typing.get_args(inner)[1]
    return None


# --- export and read -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _read(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, Mapping):
        raise OutputsMismatch(f"{prefix.rstrip('.') or 'the outputs'}: expected an object, got {_kind(raw)}")
    values: dict[str, Any] = {}
    for name, hint in field_types(cls).items():
        path = f"{prefix}{name}"
        inner, optional = _optional(hint)
        if name not in raw or raw[name] is None:
            if not optional:
                raise OutputsMismatch(f"missing {path}")
            values[name] = None
            continue
        values[name] = _value(inner, raw[name], path)
    return cls(**values)


def _value(hint: Any, raw: Any, path: str) -> Any:
    nested = nested_class(hint)
    if nested is not None:
        return _read(nested, raw, f"{path}.")
    item = mapping_value(hint)
    if item is not None:
        if not isinstance(raw, Mapping):
            raise OutputsMismatch(f"{path}: expected an object, got {_kind(raw)}")
        value_hint = typing.get_args(_optional(hint)[0])[1]
        return {str(key): _value(value_hint, value, f"{path}.{key}") for key, value in raw.items()}
    if hint is bool:
        if not isinstance(raw, bool):
            raise OutputsMismatch(f"{path}: expected true or false, got {_kind(raw)}")
        return raw
    if hint is int:
        integral = isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer())
        if isinstance(raw, bool) or not integral:
            raise OutputsMismatch(f"{path}: expected an integer, got {_kind(raw)}")
        return int(raw)
    # str, and T: what Azure decided, a string once read back
    if not isinstance(raw, str):
        raise OutputsMismatch(f"{path}: expected a string, got {_kind(raw)}")
    return raw


def _kind(raw: Any) -> str:
    if isinstance(raw, str):
        return repr(raw)
    if isinstance(raw, Mapping):
        return "an object"
    if isinstance(raw, list):
        return "a list"
    return repr(raw)
