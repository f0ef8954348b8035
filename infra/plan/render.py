"""Showing a plan: a tree by parent for people, and a byte-stable JSON document for machines."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from infra.plan.runtime import SECRET, UNKNOWN, Plan, RecordedResource
from infra.roles import ROLE_NAMES


@dataclass(frozen=True)
class Section:
    """A titled block of lines printed after the resource tree (capacity, exceptions, ...)."""

    title: str
    lines: Sequence[str]


def _get(inputs: dict[str, Any], path: str) -> Any:
    node: Any = inputs
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _fields(*paths: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def label(path: str) -> str:
        parts = path.split(".")
        return parts[-2] if parts[-1] == "name" and len(parts) > 1 else parts[-1]

    def pick(inputs: dict[str, Any]) -> dict[str, Any]:
        return {label(path): _get(inputs, path) for path in paths}

    return pick


def _compute(inputs: dict[str, Any]) -> dict[str, Any]:
    aml = _get(inputs, "properties.properties") or {}
    scale = aml.get("scaleSettings") or {}
    return {
        "vmSize": aml.get("vmSize"),
        "priority": aml.get("vmPriority"),
        "nodes": f"{scale.get('minNodeCount')}-{scale.get('maxNodeCount')}",
        "nodePublicIp": aml.get("enableNodePublicIp"),
        "ssh": aml.get("remoteLoginPortPublicAccess"),
    }


def _ml_registry(inputs: dict[str, Any]) -> dict[str, Any]:
    regions = [region.get("location") for region in inputs.get("regionDetails") or []]
    return {
        "regions": ",".join(str(r) for r in regions),
        "publicNetworkAccess": inputs.get("publicNetworkAccess"),
    }


def _role_assignment(inputs: dict[str, Any]) -> dict[str, Any]:
    definition = str(inputs.get("roleDefinitionId") or "")
    role = ROLE_NAMES.get(definition.rsplit("/", 1)[-1])
    scope = str(inputs.get("scope") or "")
    return {
        "role": f'"{role}"' if role else definition,
        "principalType": inputs.get("principalType"),
        "principalId": inputs.get("principalId"),
        "scope": "/".join(scope.split("/")[-2:]) if scope.count("/") > 2 else scope,
    }


def _budget(inputs: dict[str, Any]) -> dict[str, Any]:
    notifications = inputs.get("notifications") or {}
    thresholds = sorted(n.get("threshold", 0) for n in notifications.values() if isinstance(n, dict))
    return {
        "amount": inputs.get("amount"),
        "timeGrain": inputs.get("timeGrain"),
        "start": _get(inputs, "timePeriod.startDate"),
        "alerts": ",".join(f"{t}%" for t in thresholds) or None,
    }


# The settings a reviewer checks first, per resource type; everything is in the JSON plan.
KEY_SETTINGS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "azure-native:resources:ResourceGroup": _fields("location"),
    "azure-native:machinelearningservices:Workspace": _fields(
        "kind", "publicNetworkAccess", "managedNetwork.isolationMode", "systemDatastoresAuthMode"
    ),
    "azure-native:machinelearningservices:Compute": _compute,
    "azure-native:machinelearningservices:Registry": _ml_registry,
    "azure-native:storage:StorageAccount": _fields(
        "sku.name",
        "isHnsEnabled",
        "allowSharedKeyAccess",
        "allowBlobPublicAccess",
        "minimumTlsVersion",
        "publicNetworkAccess",
    ),
    "azure-native:keyvault:Vault": _fields(
        "properties.enableRbacAuthorization",
        "properties.enablePurgeProtection",
        "properties.softDeleteRetentionInDays",
        "properties.publicNetworkAccess",
    ),
    "azure-native:containerregistry:Registry": _fields("sku.name", "adminUserEnabled", "publicNetworkAccess"),
    "azure-native:operationalinsights:Workspace": _fields("retentionInDays"),
    "azure-native:authorization:ManagementLockByScope": _fields("level"),
    "azure-native:authorization:RoleAssignment": _role_assignment,
    "azure-native:consumption:Budget": _budget,
}


def shown_inputs(inputs: dict[str, Any], computed: Sequence[str]) -> dict[str, Any]:
    """Inputs as people see them: each provider-computed value (a placeholder in the plan) as
    unknown, the way a real preview shows it."""
    if not computed:
        return inputs
    from infra.plan import paths

    result: dict[str, Any] = json.loads(json.dumps(inputs))
    for path in computed:
        paths.replace(result, path, UNKNOWN)
    return result


def _settings_text(resource: RecordedResource) -> str:
    pick = KEY_SETTINGS.get(resource.type)
    inputs = shown_inputs(resource.inputs, resource.computed)
    settings = {k: v for k, v in pick(inputs).items() if v is not None} if pick else {}
    flags = [name for name in ("protect", "delete_before_replace") if resource.options.get(name)]
    text = " ".join(f"{key}={_scalar(value)}" for key, value in settings.items())
    if flags:
        text = f"{text} [{', '.join(flags)}]".strip()
    return text


def _masked(value: str) -> str:
    """A secret placeholder that carries a ciphertext digest (offline.py) shows as `[secret]`."""
    return SECRET if value.startswith(SECRET[:-1]) and value.endswith("]") else value


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return _masked(str(value))


def _line(resource: RecordedResource) -> str:
    physical = f" ({resource.physical_name})" if resource.custom and resource.physical_name else ""
    settings = _settings_text(resource)
    return f"{resource.type} {resource.name}{physical}{'  ' + settings if settings else ''}"


def render_tree(plan: Plan) -> list[str]:
    children: dict[str, list[RecordedResource]] = {}
    urns = {resource.urn for resource in plan.resources}
    for resource in plan.resources:
        parent = resource.parent if resource.parent in urns else ""
        children.setdefault(parent, []).append(resource)
    lines = [f"pulumi:pulumi:Stack {plan.project}-{plan.stack}"]

    def walk(parent: str, indent: str) -> None:
        kids = sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name))
        for index, resource in enumerate(kids):
            last = index == len(kids) - 1
            lines.append(f"{indent}{'└─ ' if last else '├─ '}{_line(resource)}")
            walk(resource.urn, indent + ("   " if last else "│  "))

    walk("", "")
    return lines


def _flatten(value: Any, prefix: str = "", computed: frozenset[str] = frozenset()) -> list[str]:
    if isinstance(value, dict) and value:
        return [
            line
            for key, item in sorted(value.items())
            for line in _flatten(item, f"{prefix}.{key}" if prefix else key, computed)
        ]
    if isinstance(value, str) and value in computed:
        value = UNKNOWN
    return [f"{prefix}: {json.dumps(value) if not isinstance(value, str) else _masked(value)}"]


def render_text(plan: Plan, sections: Sequence[Section] = ()) -> str:
    counts = Counter(resource.type for resource in plan.resources)
    lines = [f"Plan for stack {plan.stack!r}: {len(plan.resources)} resources", "", *render_tree(plan)]
    for section in sections:
        lines += ["", f"{section.title}:", *(f"  {line}" for line in section.lines)]
    lines += ["", "Outputs:", *(f"  {line}" for line in _flatten(plan.outputs, "", plan.computed_values))]
    lines += ["", "Resources by type:"]
    width = max((len(type_) for type_ in counts), default=0)
    lines += [f"  {type_:<{width}}  {count:>4}" for type_, count in sorted(counts.items())]
    lines += [f"  {'total':<{width}}  {sum(counts.values()):>4}"]
    return "\n".join(lines) + "\n"


def to_json(plan: Plan) -> str:
    """The full plan, sorted, so that the same configuration gives the same bytes."""
    from infra.plan.states import PLAN_FORMAT, PLAN_FORMAT_VERSION

    document = {
        "format": PLAN_FORMAT,
        "format_version": PLAN_FORMAT_VERSION,
        "stack": plan.stack,
        "project": plan.project,
        "resources": [asdict(resource) for resource in plan.resources],
        "outputs": plan.outputs,
        "summary": dict(sorted(Counter(resource.type for resource in plan.resources).items())),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
