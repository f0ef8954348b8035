"""The Azure Policy definitions of a directory, evaluated on a plan.

A directory stands for the landing zone's assignments: every definition in it is assigned, except
those an initiative of the directory groups (they are assigned through it, with its parameters).
Parameter values come from the environment's `policy.azure_policy_parameters` (by definition or
initiative name), else the parameter's default. `Deny` is a failure, `Audit` a warning,
`Disabled` nothing; `Modify`, `DeployIfNotExists`, `Append`, `AuditIfNotExists`, `DenyAction` and
`Manual` act or look beyond the resource and are reported as not evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.azure_policy.aliases import ARM_TYPES, INDEXED_TYPES
from infra.azure_policy.evaluate import NotEvaluated, Scope, UnknownAlias, holds, resolve
from infra.guardrails.core import PlannedResource

EVALUATED_EFFECTS = frozenset({"deny", "audit", "disabled"})


class AzurePolicyError(Exception):
    """A definition file that cannot be used: one message naming the file."""


@dataclass(frozen=True)
class Definition:
    name: str
    display_name: str
    file: str
    mode: str
    rule: Mapping[str, Any]
    parameters: Mapping[str, Any]  # name -> declaration (type, defaultValue, ...)


@dataclass(frozen=True)
class Member:
    """A definition assigned (alone or through an initiative), with its parameter values."""

    definition: Definition
    values: Mapping[str, Any]
    via: str = ""  # the initiative's name


@dataclass(frozen=True)
class Finding:
    definition: str
    display_name: str
    effect: str  # deny | audit
    resource: str  # `type name`
    urn: str
    fields: tuple[str, ...]
    via: str = ""

    def line(self) -> str:
        via = f" (initiative {self.via})" if self.via else ""
        return (
            f"{self.effect.upper()} {self.resource}: {self.display_name} [{self.definition}]{via}; "
            f"fields: {', '.join(self.fields) or '-'}"
        )


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    not_evaluated: list[str] = field(default_factory=list)
    definitions: int = 0
    initiatives: int = 0

    @property
    def denied(self) -> bool:
        return any(f.effect == "deny" for f in self.findings)


def _properties(document: Any, file: str) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise AzurePolicyError(f"{file}: not a policy definition (a JSON object)")
    properties = document.get("properties", document)
    if not isinstance(properties, Mapping):
        raise AzurePolicyError(f"{file}: `properties` is not an object")
    return properties


def load(directory: Path) -> tuple[list[Definition], list[tuple[str, str, Mapping[str, Any]]]]:
    """The definitions and initiatives (name, file, properties) of a directory."""
    if not directory.is_dir():
        raise AzurePolicyError(f"{directory}: no such directory of Azure Policy definitions")
    definitions, initiatives = [], []
    for path in sorted(directory.glob("*.json")):
        file = str(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise AzurePolicyError(f"{file}:{error.lineno}: not JSON ({error.msg})") from None
        except (OSError, UnicodeDecodeError) as error:
            raise AzurePolicyError(f"{file}: cannot be read ({error})") from None
        properties = _properties(document, file)
        name = str(document.get("name") or path.stem)
        if "policyDefinitions" in properties:
            if not isinstance(properties["policyDefinitions"], list):
                raise AzurePolicyError(f"{file}: policyDefinitions is not a list")
            initiatives.append((name, file, properties))
            continue
        rule = properties.get("policyRule")
        if not isinstance(rule, Mapping) or "if" not in rule or not isinstance(rule.get("then"), Mapping):
            raise AzurePolicyError(f"{file}: no policyRule with `if` and `then`")
        parameters = properties.get("parameters") or {}
        if not isinstance(parameters, Mapping):
            raise AzurePolicyError(f"{file}: parameters is not an object")
        definitions.append(
            Definition(
                name,
                str(properties.get("displayName") or name),
                file,
                str(properties.get("mode") or "All"),
                rule,
                parameters,
            )
        )
    if not definitions and not initiatives:
        raise AzurePolicyError(f"{directory}: no Azure Policy definitions (*.json)")
    return definitions, initiatives


def _values(declared: Mapping[str, Any], assigned: Mapping[str, Any]) -> dict[str, Any]:
    values = {
        name: spec["defaultValue"]
        for name, spec in declared.items()
        if isinstance(spec, Mapping) and "defaultValue" in spec
    }
    values.update(assigned)
    return values


def members(directory: Path, assignments: Mapping[str, Mapping[str, Any]]) -> tuple[list[Member], Report]:
    definitions, initiatives = load(directory)
    by_name = {d.name.lower(): d for d in definitions}
    grouped: set[str] = set()
    result: list[Member] = []
    report = Report(definitions=len(definitions), initiatives=len(initiatives))
    for name, _file, properties in initiatives:
        outer = _values(properties.get("parameters") or {}, assignments.get(name, {}))
        for index, reference in enumerate(properties["policyDefinitions"]):
            target = str((reference or {}).get("policyDefinitionId") or "").rsplit("/", 1)[-1]
            definition = by_name.get(target.lower())
            if definition is None:
                report.not_evaluated.append(
                    f"{name}: policyDefinitions[{index}] {target or '(no id)'} is not a definition in {directory}"
                )
                continue
            grouped.add(definition.name.lower())
            scope = Scope(PlannedResource("", "", "", {}), outer)
            values: dict[str, Any] = {}
            try:
                for key, spec in (reference.get("parameters") or {}).items():
                    values[key] = resolve(spec.get("value") if isinstance(spec, Mapping) else spec, scope)
            except NotEvaluated as error:
                report.not_evaluated.append(f"{name}: parameters of {definition.name}: {error}")
                continue
            result.append(Member(definition, _values(definition.parameters, values), via=name))
    for definition in definitions:
        if definition.name.lower() not in grouped:
            assigned = assignments.get(definition.name, {})
            result.append(Member(definition, _values(definition.parameters, assigned)))
    return result, report


def _fields(condition: Any) -> Iterator[str]:
    if isinstance(condition, Mapping):
        for key, value in condition.items():
            if key == "field" and isinstance(value, str) and value.lower() != "type":
                yield value
            elif key == "count" and isinstance(value, Mapping) and isinstance(value.get("field"), str):
                yield value["field"]
                yield from _fields(value.get("where"))
            else:
                yield from _fields(value)
    elif isinstance(condition, list):
        for item in condition:
            yield from _fields(item)


def _applies(member: Member, resource: PlannedResource) -> bool:
    if resource.type not in ARM_TYPES:
        return False  # components and providers are not Azure resources
    return member.definition.mode.lower() != "indexed" or resource.type in INDEXED_TYPES


def evaluate(
    resources: Sequence[PlannedResource], directory: Path, assignments: Mapping[str, Mapping[str, Any]]
) -> Report:
    assigned, report = members(directory, assignments)
    for member in assigned:
        definition = member.definition
        label = f"{definition.name}{f' (initiative {member.via})' if member.via else ''}"
        try:
            effect = str(
                resolve(
                    definition.rule["then"].get("effect"),
                    Scope(PlannedResource("", "", "", {}), member.values),
                )
            )
        except NotEvaluated as error:
            report.not_evaluated.append(f"{label}: effect: {error}")
            continue
        if effect.lower() not in EVALUATED_EFFECTS:
            report.not_evaluated.append(f"{label}: effect {effect} acts at deployment; not evaluated offline")
            continue
        if effect.lower() == "disabled":
            continue
        fields = tuple(dict.fromkeys(_fields(definition.rule["if"])))
        problems: dict[str, list[str]] = {}
        for resource in resources:
            if not _applies(member, resource):
                continue
            try:
                matched = holds(definition.rule["if"], Scope(resource, member.values))
            except UnknownAlias as error:
                problems.setdefault(str(error), [])
                continue
            except NotEvaluated as error:
                problems.setdefault(str(error), []).append(f"{resource.type} {resource.name}")
                continue
            if matched:
                report.findings.append(
                    Finding(
                        definition.name,
                        definition.display_name,
                        effect.lower(),
                        f"{resource.type} {resource.name}",
                        resource.urn,
                        fields,
                        member.via,
                    )
                )
        for reason, where in sorted(problems.items()):
            on = (
                f" ({len(where)} resources: {', '.join(where[:3])}{', ...' if len(where) > 3 else ''})"
                if where
                else ""
            )
            report.not_evaluated.append(f"{label}: {reason}{on}")
    return report


def render(report: Report, directory: Path) -> list[str]:
    deny = sum(1 for f in report.findings if f.effect == "deny")
    lines = [
        f"{directory}: {report.definitions} definitions, {report.initiatives} initiatives: {deny} deny, "
        f"{len(report.findings) - deny} audit, {len(report.not_evaluated)} not evaluated"
    ]
    lines += [
        finding.line() for finding in sorted(report.findings, key=lambda f: (f.effect != "deny", f.resource))
    ]
    lines += [f"not evaluated: {line}" for line in report.not_evaluated]
    return lines


def check_plan(
    resources: Sequence[PlannedResource],
    root: Path,
    directory: Path,
    assignments: Mapping[str, Mapping[str, Any]],
) -> tuple[list[str], bool]:
    """Report lines and whether a Deny matched (AzurePolicyError for a definition it cannot use)."""
    path = directory if directory.is_absolute() else root / directory
    report = evaluate(resources, path, assignments)
    return render(report, directory), report.denied
