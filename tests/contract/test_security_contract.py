"""The security contract (tests/contract/security.yaml) holds on the plans of both example stacks
and of stacks built to cover the other kinds of environment (private and not production, public
and production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.plan.runtime import Plan, RecordedResource
from tests.infra.sandbox import Sandbox, example_environment

CONTRACT: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(
    (Path(__file__).parent / "security.yaml").read_text()
)
ABSENT = "absent"
_MISSING = object()


def value_at(resource: RecordedResource, path: str) -> Any:
    node: Any = resource.options if path.startswith("options.") else resource.inputs
    for part in path.removeprefix("options.").split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def violations(plan: Plan, *, private: bool, production: bool) -> list[str]:
    kinds = ["all", "private" if private else "public", "production" if production else "nonproduction"]
    found = []
    for type_, by_kind in CONTRACT.items():
        for resource in plan.by_type(type_):
            for kind in kinds:
                for path, expected in (by_kind.get(kind) or {}).items():
                    actual = value_at(resource, path)
                    if expected == ABSENT:
                        ok = actual is _MISSING
                    elif isinstance(expected, list) and not path.startswith("options."):
                        ok = actual in expected
                    else:
                        ok = actual == expected
                    if not ok:
                        shown = "absent" if actual is _MISSING else repr(actual)
                        found.append(
                            f"{resource.name} ({type_}): {path} is {shown}, contract says {expected!r}"
                        )
    return found


def test_the_contract_covers_every_type_that_carries_security_settings(prod_plan: Plan) -> None:
    exempt = {
        "azure-native:resources:ResourceGroup",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:monitor:DiagnosticSetting",
        "azure-native:network:PrivateEndpoint",
        "azure-native:network:PrivateDnsZoneGroup",
    }
    created = {r.type for r in prod_plan.resources if r.custom}
    assert created - exempt <= set(CONTRACT), created - exempt - set(CONTRACT)


def test_dev_keeps_the_contract(dev_plan: Plan) -> None:
    assert violations(dev_plan, private=False, production=False) == []


def test_prod_keeps_the_contract(prod_plan: Plan) -> None:
    assert violations(prod_plan, private=True, production=True) == []


def test_a_private_nonproduction_and_a_public_production_stack_keep_it(sandbox: Sandbox) -> None:
    private = example_environment("prod")
    private.update(
        production=False,
        short_name="stg",
        registry={"existing_id": example_environment("dev")["registry"]["existing_id"]},
    )
    sandbox.stack("staging", private)
    public = example_environment("dev")
    public.update(production=True, short_name="pub")
    sandbox.stack("public", public)
    for project in ("nlp-research.yaml", "vision-lab.yaml"):
        path = sandbox.root / "stacks" / "projects" / project
        path.write_text(path.read_text().replace("  dev:", "  staging: {}\n  public: {}\n  dev:", 1))
    assert violations(sandbox.plan("staging"), private=True, production=False) == []
    assert violations(sandbox.plan("public"), private=False, production=True) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("allowSharedKeyAccess", True),
        ("networkRuleSet.defaultAction", "Allow"),
        ("minimumTlsVersion", "TLS1_0"),
    ],
)
def test_a_changed_setting_is_a_violation(prod_plan: Plan, path: str, value: Any) -> None:
    """The check itself can fail: one changed input of one resource is reported."""
    (account,) = prod_plan.by_type("azure-native:storage:StorageAccount")
    node = account.inputs
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[part]
    before = node[leaf]
    node[leaf] = value
    try:
        (found,) = violations(prod_plan, private=True, production=True)
        assert path in found
    finally:
        node[leaf] = before
