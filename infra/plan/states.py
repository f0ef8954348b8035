"""The two sides of a diff, read from what a platform engineer has: an offline plan (this program's
JSON, `python -m infra plan --json`) or the real stack's state (`pulumi stack export`).

Both become the same `State`: resources by URN with their type, parent, inputs, protection and
dependencies. Formats, as their producers write them:

* the offline plan: `infra/plan/render.py` `to_json`, versioned by `format`/`format_version`
  (a document without them is version 1, the shape before the version was added);
* `pulumi stack export`: `{"version": 3, "deployment": {"manifest": …, "resources": [ResourceV3]}}`
  (pulumi/pulumi `sdk/go/common/apitype/core.go`: `UntypedDeployment`, `DeploymentV3`,
  `ResourceV3` with `urn`, `custom`, `id`, `type`, `inputs`, `outputs`, `parent`, `protect`,
  `dependencies`, `propertyDependencies`). Secrets there are objects tagged with the secret
  signature (`sdk/go/common/resource/sig`), shown as `[secret]`; the stack resource and providers
  are not resources the program declares, so they are left out.

Every problem with a file is a `StateError` naming it, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.plan.runtime import SECRET, Plan

PLAN_FORMAT = "mlplatform-offline-plan"
PLAN_FORMAT_VERSION = 2
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_NOT_DECLARED = ("pulumi:pulumi:Stack", "pulumi:providers:")


class StateError(Exception):
    """A base or head document that cannot be read: the message names the file and the problem."""


@dataclass(frozen=True)
class Resource:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: Mapping[str, Any]
    protect: bool = False
    dependencies: tuple[str, ...] = ()
    computed: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()
    physical_name: str = ""
    aliases: tuple[str, ...] = ()  # as the plan records them: alias URNs, or `type=… name=… parent=…`


@dataclass(frozen=True)
class State:
    stack: str
    source: str  # what it was read from, for messages: "plan base.json", "stack export prod.json"
    resources: Mapping[str, Resource] = field(default_factory=dict)


def _unsecret(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return SECRET
        return {key: _unsecret(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unsecret(item) for item in value]
    return value


def _top_level(parent: str) -> str:
    """Parents as the diff groups them: the stack itself is no parent of the program's resources."""
    return "" if parent.split("::")[-2:-1] == ["pulumi:pulumi:Stack"] else parent


def _name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _stack_of(urn: str) -> str:
    parts = urn.split("::")
    return parts[0].removeprefix("urn:pulumi:") if len(parts) >= 4 else ""


def from_plan_document(document: Mapping[str, Any], source: str) -> State:
    """A State from an offline plan document (any format version this code can read)."""
    version = document.get("format_version", 1)
    if document.get("format", PLAN_FORMAT) != PLAN_FORMAT or not isinstance(version, int):
        raise StateError(f"{source}: not an offline plan (format {document.get('format')!r})")
    if version > PLAN_FORMAT_VERSION:
        raise StateError(
            f"{source}: plan format version {version} is newer than this code reads "
            f"({PLAN_FORMAT_VERSION}); make the plan with the same revision of this repository"
        )
    resources: dict[str, Resource] = {}
    try:
        for entry in document["resources"]:
            options = entry.get("options") or {}
            resources[entry["urn"]] = Resource(
                urn=entry["urn"],
                type=entry["type"],
                name=entry["name"],
                parent=_top_level(entry.get("parent", "")),
                custom=bool(entry.get("custom", True)),
                inputs=entry.get("inputs") or {},
                protect=bool(options.get("protect")),
                dependencies=tuple(entry.get("dependencies") or ()),
                computed=tuple(entry.get("computed") or ()),
                replace_on_changes=tuple(options.get("replace_on_changes") or ()),
                physical_name=entry.get("physical_name", ""),
                aliases=tuple(entry.get("aliases") or ()),
            )
    except (KeyError, TypeError, AttributeError) as error:
        raise StateError(f"{source}: malformed plan resource ({error!r} missing or wrong)") from None
    return State(str(document.get("stack", "")), source, resources)


def from_stack_export(document: Mapping[str, Any], source: str) -> State:
    """A State from `pulumi stack export` (deployment version 3)."""
    deployment = document.get("deployment")
    if document.get("version") != 3 or not isinstance(deployment, dict):
        raise StateError(f"{source}: not a `pulumi stack export` document of version 3")
    resources: dict[str, Resource] = {}
    stacks: set[str] = set()
    try:
        for entry in deployment.get("resources") or []:
            urn, type_ = entry["urn"], entry["type"]
            stacks.add(_stack_of(urn))
            if type_.startswith(_NOT_DECLARED) or entry.get("delete"):
                continue  # the engine's own resources, and pending deletions of old replacements
            outputs = entry.get("outputs") or {}
            resources[urn] = Resource(
                urn=urn,
                type=type_,
                name=_name_of(urn),
                parent=_top_level(entry.get("parent", "")),
                custom=bool(entry.get("custom")),
                inputs=_unsecret(entry.get("inputs") or {}),
                protect=bool(entry.get("protect")),
                dependencies=tuple(sorted(set(entry.get("dependencies") or ()))),
                physical_name=str(outputs.get("name", "")) if isinstance(outputs, dict) else "",
            )
    except (KeyError, TypeError, AttributeError) as error:
        raise StateError(f"{source}: malformed stack export resource ({error!r} missing or wrong)") from None
    stack = next(iter(stacks)) if len(stacks) == 1 else ""
    return State(stack, source, resources)


def read_state(path: Path) -> State:
    """A saved plan or a stack export, told apart by shape; every problem names the file."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise StateError(f"{path}: no such file") from None
    except OSError as error:
        raise StateError(f"{path}: cannot read it ({error.strerror})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise StateError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(document, dict):
        raise StateError(f"{path}: not a plan or a stack export (a JSON {type(document).__name__})")
    if "deployment" in document:
        return from_stack_export(document, f"stack export {path}")
    if "resources" in document:
        return from_plan_document(document, f"plan {path}")
    raise StateError(f"{path}: neither an offline plan (`plan --json`) nor a `pulumi stack export`")


def empty_state(stack: str, source: str) -> State:
    return State(stack, source, {})


def from_plan(plan: Plan, source: str = "this change") -> State:
    """The head of a diff: the plan just computed, without a JSON round trip."""
    return State(
        plan.stack,
        source,
        {
            r.urn: Resource(
                urn=r.urn,
                type=r.type,
                name=r.name,
                parent=_top_level(r.parent),
                custom=r.custom,
                inputs=r.inputs,
                protect=bool(r.options.get("protect")),
                dependencies=r.dependencies,
                computed=r.computed,
                replace_on_changes=tuple(r.options.get("replace_on_changes") or ()),
                physical_name=r.physical_name,
                aliases=r.aliases,
            )
            for r in plan.resources
        },
    )
