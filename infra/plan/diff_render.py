"""A diff as people and tools read it: text in the style of `pulumi preview --diff`, a pull-request
comment in Markdown, and the JSON document of `pulumi preview --json`.

Display conventions taken from Pulumi (pulumi/pulumi `pkg/backend/display`): `+` create, `~`
update, `+-` replace, `-` delete; property lines `path: old => new`; secrets as `[secret]`;
values a provider computes at `pulumi up` as unknown (`output<string>` in Pulumi's text, here
`[unknown]`); the summary `+ N to create, ~ N to update, +- N to replace, - N to delete,
N unchanged`, zero counts left out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from infra.plan.diff import MISSING, PlanDiff, PropertyChange, Step
from infra.plan.runtime import SECRET, UNKNOWN
from infra.plan.states import Resource
from infra.roles import ROLE_NAMES

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
MARKS = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
# GitHub refuses a comment body over 65,536 characters (REST API "Create an issue comment":
# "body is too long (maximum is 65536 characters)").
COMMENT_LIMIT = 65_536
# Pulumi's unknown-value sentinel on the wire and in `preview --json` (sdk/go/common/resource/plugin/rpc.go)
PULUMI_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_SECRET_PREFIX = SECRET.rstrip("]")


def marker(stack: str) -> str:
    """The hidden line that identifies a stack's pull-request comment, so that it is updated in place."""
    return f"<!-- mlplatform-preview:{stack} -->"


def _is_secret(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_SECRET_PREFIX) and value.endswith("]")


def shown(value: Any, computed: bool = False) -> str:
    if computed:
        return UNKNOWN
    if value is MISSING:
        return ""
    if _is_secret(value):
        return SECRET
    if isinstance(value, (dict, list)):
        return json.dumps(_masked(value), sort_keys=True, separators=(",", ":"))
    return json.dumps(value)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return SECRET if _is_secret(value) else value


def principal_directory(config: Any) -> dict[str, tuple[str, str]]:
    """object id -> (name, kind) of every principal the validated configuration names (project
    access lists, environment groups): whatever shape the models have, a principal is a mapping
    with `object_id` and `name`."""
    found: dict[str, tuple[str, str]] = {}

    def walk(value: Any) -> None:
        if hasattr(value, "model_dump"):
            value = value.model_dump()
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        if isinstance(value, Mapping):
            if "object_id" in value and "name" in value:
                found[str(value["object_id"])] = (str(value["name"]), str(value.get("kind") or ""))
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item)

    walk(config)
    return found


def short_scope(scope: str) -> str:
    """`registries/mlr-mlp-prd-0a71` for an ARM id: what the scope is, without the subscription."""
    parts = scope.strip("/").split("/")
    if "providers" in parts:
        index = len(parts) - 1 - parts[::-1].index("providers")
        tail = parts[index + 2 :]
        return "/".join(tail) or scope
    if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
        return f"resourceGroups/{parts[3]}"
    if len(parts) == 2 and parts[0] == "subscriptions":
        return f"subscription {parts[1]}"
    return scope


def role_assignment_text(resource: Resource, principals: Mapping[str, tuple[str, str]]) -> str:
    inputs = resource.inputs
    principal_id = str(inputs.get("principalId") or "")
    kind = str(inputs.get("principalType") or "")
    if principal_id in principals:
        name, kind = principals[principal_id][0], principals[principal_id][1] or kind
        principal = f"{name} ({kind})"
    else:
        described = str(inputs.get("description") or "").removeprefix("mlplatform: ")
        known = "principalId" not in resource.computed
        who = described or (principal_id if known else "a new identity")
        principal = f"{who} ({kind}{'' if known else ', managed identity'})"
    definition = str(inputs.get("roleDefinitionId") or "")
    role = ROLE_NAMES.get(definition.rsplit("/", 1)[-1], definition.rsplit("/", 1)[-1])
    return f'principal {principal}, role "{role}", scope {short_scope(str(inputs.get("scope") or ""))}'


def _settings(resource: Resource) -> str:
    from infra.plan.render import KEY_SETTINGS

    pick = KEY_SETTINGS.get(resource.type)
    if pick is None:
        return ""
    picked = pick(dict(resource.inputs))
    return " ".join(
        f"{key}={shown(value).strip(chr(34))}" for key, value in picked.items() if value is not None
    )


def _headline(step: Step, principals: Mapping[str, tuple[str, str]]) -> str:
    resource = step.resource
    named = resource.custom and resource.physical_name and step.type != ROLE_ASSIGNMENT
    physical = f" ({resource.physical_name})" if named else ""
    line = f"{MARKS[step.op]} {step.type} {step.name}{physical}"
    if step.type == ROLE_ASSIGNMENT:
        return f"{line}: {role_assignment_text(resource, principals)}"
    if step.op in ("create", "delete"):
        settings = _settings(resource)
        return f"{line}  {settings}" if settings else line
    return f"{line}: {step.op}"


def _change_line(change: PropertyChange) -> str:
    suffix = "  (forces replacement)" if change.replace else ""
    old, new = shown(change.old, change.old_computed), shown(change.new, change.computed)
    if change.kind.startswith("add"):
        return f"+ {change.path}: {new}{suffix}"
    if change.kind.startswith("delete"):
        return f"- {change.path}: {old}{suffix}"
    return f"~ {change.path}: {old} => {new}{suffix}"


def summary_line(diff: PlanDiff) -> str:
    counts = diff.counts()
    parts = [
        f"{MARKS[op]} {counts[op]} to {op}" for op in ("create", "update", "replace", "delete") if counts[op]
    ]
    return (
        ", ".join([*parts, f"{counts['same']} unchanged"])
        if parts
        else f"no changes, {counts['same']} unchanged"
    )


def _group_key(step: Step, resources: Mapping[str, Resource]) -> tuple[tuple[str, ...], str]:
    """(ancestry sort key, group title): grouped by the outermost component (a project, the shared
    services, ...), components before their children."""
    chain: list[Resource] = []
    current: Resource | None = step.resource
    while current is not None:
        chain.append(current)
        current = resources.get(current.parent)
    chain.reverse()
    top = chain[0]
    title = f"{top.type.rsplit(':', 1)[-1]} {top.name}" if top.type.startswith("mlplatform:") else "other"
    key = tuple(f"{int(r.custom)}|{r.type}|{r.name}" for r in chain)
    return key, title


def grouped(diff: PlanDiff, resources: Mapping[str, Resource]) -> list[tuple[str, list[Step]]]:
    groups: dict[str, list[tuple[tuple[str, ...], Step]]] = {}
    for step in diff.changes:
        key, title = _group_key(step, resources)
        groups.setdefault(title, []).append((key, step))
    return [(title, [step for _, step in sorted(items)]) for title, items in sorted(groups.items())]


def step_lines(step: Step, principals: Mapping[str, tuple[str, str]]) -> list[str]:
    lines = [_headline(step, principals)]
    if step.op in ("update", "replace"):
        lines += [f"    {_change_line(change)}" for change in step.changes]
    return lines


def render_diff_text(
    diff: PlanDiff, resources: Mapping[str, Resource], principals: Mapping[str, tuple[str, str]]
) -> list[str]:
    lines = [summary_line(diff)]
    for refusal in diff.refusals:
        lines.append(f"refused: {refusal}")
    for warning in diff.warnings:
        lines.append(f"warning: {warning}")
    for title, steps in grouped(diff, resources):
        lines += ["", f"{title}:"]
        for step in steps:
            lines += [f"  {line}" for line in step_lines(step, principals)]
    return lines


def _group_summary(steps: Sequence[Step]) -> str:
    counts = {op: sum(1 for s in steps if s.op == op) for op in MARKS}
    return ", ".join(f"{MARKS[op]} {n} to {op}" for op, n in counts.items() if n)


def render_markdown(
    diff: PlanDiff,
    resources: Mapping[str, Resource],
    principals: Mapping[str, tuple[str, str]],
    *,
    limit: int = COMMENT_LIMIT,
) -> str:
    """One pull-request comment for one stack: the summary first, then a collapsible section per
    group, cut on a line boundary within `limit` characters with a note of what was left out."""
    head = [marker(diff.stack), f"### Offline preview: `{diff.stack}`", "", f"**{summary_line(diff)}**", ""]
    head.append(f"Against {diff.base}. Computed values show as `{UNKNOWN}`, secrets as `{SECRET}`.")
    head.append("")
    if diff.refusals:
        head += ["> [!CAUTION]", "> `pulumi up` would refuse, or Azure cannot make, these changes:"]
        head += [f"> - {refusal}" for refusal in diff.refusals]
        head.append("")
    head += [f"> [!WARNING]\n> {warning}\n" for warning in diff.warnings]
    sections: list[list[str]] = []
    for title, steps in grouped(diff, resources):
        body = [line for step in steps for line in step_lines(step, principals)]
        sections.append(
            [
                f"<details><summary>{title}: {_group_summary(steps)}</summary>",
                "",
                "```diff",
                *body,
                "```",
                "</details>",
                "",
            ]
        )
    return _fit(head, sections, limit)


def _fit(head: list[str], sections: list[list[str]], limit: int) -> str:
    def size(lines: Iterable[str]) -> int:
        return sum(len(line) + 1 for line in lines)

    reserve = 400  # the note of what was left out, and closing a cut section
    out = list(head)
    left_lines = 0
    left_sections = 0
    for index, section in enumerate(sections):
        if size(out) + size(section) <= limit - reserve:
            out += section
            continue
        room = limit - reserve - size(out)
        kept: list[str] = []
        for line in section[:-3]:  # the body; the closing fence and tag are added back below
            if size(kept) + len(line) + 1 > room - 40:
                break
            kept.append(line)
        if len(kept) > 3:  # a section cut inside its body still opens and closes properly
            out += [*kept, "```", "</details>", ""]
            left_lines += len(section) - 3 - len(kept)
        else:
            left_sections += 1
            left_lines += len(section) - 6
        for rest in sections[index + 1 :]:
            left_sections += 1
            left_lines += len(rest) - 6
        break
    if left_lines or left_sections:
        out.append(
            f"_Cut to GitHub's {limit:,}-character comment limit: {left_lines} more line(s) of changes"
            f"{f' in {left_sections} more section(s)' if left_sections else ''} are in the job log._"
        )
    return "\n".join(out) + "\n"


def _with_unknowns(resource: Resource) -> dict[str, Any]:
    from infra.plan.render import shown_inputs

    inputs = _masked(shown_inputs(dict(resource.inputs), resource.computed))
    return json.loads(json.dumps(inputs).replace(json.dumps(UNKNOWN), json.dumps(PULUMI_UNKNOWN)))


def _state_v3(resource: Resource) -> dict[str, Any]:
    """A resource as `apitype.ResourceV3` (pulumi/pulumi sdk/go/common/apitype/core.go)."""
    state: dict[str, Any] = {
        "urn": resource.urn,
        "custom": resource.custom,
        "type": resource.type,
        "inputs": _with_unknowns(resource),
    }
    # the diff groups top-level resources without a parent; Pulumi's state names the stack
    stack, project = resource.urn.split("::")[0].removeprefix("urn:pulumi:"), resource.urn.split("::")[1]
    state["parent"] = (
        resource.parent or f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"
    )
    if resource.protect:
        state["protect"] = True
    if resource.dependencies:
        state["dependencies"] = list(resource.dependencies)
    return state


def to_preview_json(diff: PlanDiff) -> str:
    """The document `pulumi preview --json` prints (`display.PreviewDigest`: `steps` of
    `PreviewStep` with `op`, `urn`, `oldState`, `newState`, `diffReasons`, `replaceReasons`,
    `detailedDiff`, and `changeSummary`), for the steps that change something, as Pulumi shows them
    by default (pkg/backend/display/json.go `ShowPreviewDigest`)."""
    steps = []
    for step in diff.changes:
        entry: dict[str, Any] = {"op": step.op, "urn": step.urn}
        if step.old is not None and step.op != "create":
            entry["oldState"] = _state_v3(step.old)
        if step.new is not None and step.op != "delete":
            entry["newState"] = _state_v3(step.new)
        if step.op in ("update", "replace"):
            entry["diffReasons"] = list(step.diff_reasons)
        if step.op == "replace":
            entry["replaceReasons"] = list(step.replace_reasons)
        entry["detailedDiff"] = (
            {c.path: {"kind": c.kind, "inputDiff": True} for c in step.changes} if step.changes else None
        )
        steps.append(entry)
    summary = {op: count for op, count in diff.counts().items() if count}
    return json.dumps({"steps": steps, "changeSummary": summary}, indent=4, sort_keys=True) + "\n"
