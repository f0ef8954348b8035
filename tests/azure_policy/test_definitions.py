"""The example definitions of policies/azure on the example plans and on plans edited to fail
them; effects, parameters, initiatives, and definitions the evaluator cannot use."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from infra.azure_policy.run import AzurePolicyError, Report, evaluate
from infra.cli import main
from infra.guardrails.command import recorded
from infra.guardrails.core import PlannedResource
from infra.guardrails.runner import POLICY_FAILED
from infra.plan.offline import REPOSITORY, plan_stack
from tests.infra.sandbox import AS_OF, Sandbox, example_environment

EXAMPLES = REPOSITORY / "policies" / "azure"
WORKSPACE = "azure-native:machinelearningservices:Workspace"


@pytest.fixture(scope="module")
def prod() -> list[PlannedResource]:
    return recorded(plan_stack("prod", as_of=AS_OF))


@pytest.fixture(scope="module")
def dev() -> list[PlannedResource]:
    return recorded(plan_stack("dev", as_of=AS_OF))


def only(name: str, tmp_path: Path) -> Path:
    """A directory with one example definition (no initiative grouping it)."""
    directory = tmp_path / name
    directory.mkdir()
    shutil.copy(EXAMPLES / f"{name}.json", directory)
    return directory


def findings(report: Report) -> set[tuple[str, str, str]]:
    return {(f.effect, f.definition, f.resource) for f in report.findings}


def change(resources: list[PlannedResource], name: str, **props: Any) -> list[PlannedResource]:
    def edit(r: PlannedResource) -> PlannedResource:
        if r.name != name:
            return r
        merged = copy.deepcopy(dict(r.props))
        merged.update(props)
        return dataclasses.replace(r, props=merged)

    return [edit(r) for r in resources]


def test_the_example_stacks_pass_every_example_but_devs_public_workspaces(
    prod: list[PlannedResource], dev: list[PlannedResource]
) -> None:
    assert findings(evaluate(prod, EXAMPLES, {})) == set()
    assert findings(evaluate(dev, EXAMPLES, {})) == {
        ("deny", "workspace-public-network-disabled", f"{WORKSPACE} maas-lab-workspace"),
        ("deny", "workspace-public-network-disabled", f"{WORKSPACE} nlp-research-workspace"),
        ("deny", "workspace-public-network-disabled", f"{WORKSPACE} vision-lab-workspace"),
    }


def test_workspaces_must_disable_public_network_access(prod: list[PlannedResource], tmp_path: Path) -> None:
    directory = only("workspace-public-network-disabled", tmp_path)
    broken = change(prod, "nlp-research-workspace", publicNetworkAccess="Enabled")
    report = evaluate(broken, directory, {})
    (finding,) = report.findings
    assert (finding.effect, finding.resource) == ("deny", f"{WORKSPACE} nlp-research-workspace")
    assert finding.fields == ("Microsoft.MachineLearningServices/workspaces/publicNetworkAccess",)
    assert "Machine Learning workspaces must disable public network access" in finding.line()
    # The assignment may lower the effect to Audit: a warning, not a failure.
    audited = evaluate(broken, directory, {"workspace-public-network-disabled": {"effect": "Audit"}})
    assert [f.effect for f in audited.findings] == ["audit"] and not audited.denied
    assert evaluate(prod, directory, {}).findings == []


def test_allowed_locations(prod: list[PlannedResource], tmp_path: Path) -> None:
    directory = only("allowed-locations", tmp_path)
    assert evaluate(prod, directory, {}).findings == []
    moved = change(prod, "nlp-research-storage", location="eastus")
    assert findings(evaluate(moved, directory, {})) == {
        ("deny", "allowed-locations", "azure-native:storage:StorageAccount nlp-research-storage")
    }
    # An assignment value replaces the default list: only northeurope, so every westeurope
    # resource is refused.
    narrowed = evaluate(prod, directory, {"allowed-locations": {"listOfAllowedLocations": ["northeurope"]}})
    assert len(narrowed.findings) > 10 and narrowed.denied


def test_required_tag_is_an_audit(prod: list[PlannedResource], tmp_path: Path) -> None:
    directory = only("required-tag", tmp_path)
    assert evaluate(prod, directory, {}).findings == []
    untagged = change(prod, "nlp-research-key-vault", tags={"owner": "x"})
    report = evaluate(untagged, directory, {})
    assert findings(report) == {
        ("audit", "required-tag", "azure-native:keyvault:Vault nlp-research-key-vault")
    }
    assert not report.denied
    other = evaluate(prod, directory, {"required-tag": {"tagName": "data-owner"}})
    assert {f.effect for f in other.findings} == {"audit"} and len(other.findings) > 10


def test_private_endpoints_to_known_sub_resources(prod: list[PlannedResource], tmp_path: Path) -> None:
    directory = only("private-endpoint-group-ids", tmp_path)
    assert evaluate(prod, directory, {}).findings == []
    name = next(r.name for r in prod if r.type == "azure-native:network:PrivateEndpoint")
    endpoint = next(r for r in prod if r.name == name and r.type == "azure-native:network:PrivateEndpoint")
    connections = copy.deepcopy(endpoint.props["privateLinkServiceConnections"])
    connections[0]["groupIds"] = ["sqlServer"]
    broken = change(prod, name, privateLinkServiceConnections=connections)
    assert findings(evaluate(broken, directory, {})) == {
        ("deny", "private-endpoint-known-group-ids", f"azure-native:network:PrivateEndpoint {name}")
    }


def test_an_initiative_assigns_its_members_with_its_parameters(prod: list[PlannedResource]) -> None:
    report = evaluate(prod, EXAMPLES, {"ml-landing-zone": {"locations": ["northeurope"]}})
    located = {f for f in report.findings if f.definition == "allowed-locations"}
    assert located and {f.via for f in located} == {"ml-landing-zone"}
    # The member is evaluated through the initiative only, not a second time on its own.
    assert len({f.resource for f in located}) == len(located)


def _definition(tmp_path: Path, rule: dict[str, Any], **properties: Any) -> Path:
    directory = tmp_path / "defs"
    directory.mkdir(exist_ok=True)
    document = {"name": "custom", "properties": {"mode": "All", "policyRule": rule, **properties}}
    (directory / "custom.json").write_text(json.dumps(document))
    return directory


@pytest.mark.parametrize("effect", ["Modify", "DeployIfNotExists", "Append", "AuditIfNotExists"])
def test_effects_that_act_at_deployment_are_reported_not_evaluated(
    prod: list[PlannedResource], tmp_path: Path, effect: str
) -> None:
    directory = _definition(
        tmp_path,
        {"if": {"field": "type", "equals": "Microsoft.Storage/storageAccounts"}, "then": {"effect": effect}},
    )
    report = evaluate(prod, directory, {})
    assert report.findings == [] and report.not_evaluated == [
        f"custom: effect {effect} acts at deployment; not evaluated offline"
    ]


def test_disabled_matches_nothing(prod: list[PlannedResource], tmp_path: Path) -> None:
    directory = _definition(
        tmp_path, {"if": {"field": "location", "exists": True}, "then": {"effect": "disabled"}}
    )
    report = evaluate(prod, directory, {})
    assert (report.findings, report.not_evaluated) == ([], [])


def test_an_unknown_alias_is_reported_once(prod: list[PlannedResource], tmp_path: Path) -> None:
    rule = {
        "if": {"allOf": [
            {"field": "type", "equals": "Microsoft.Storage/storageAccounts"},
            {"field": "Microsoft.Storage/storageAccounts/networkAcls.defaultAction", "notEquals": "Deny"},
        ]},
        "then": {"effect": "deny"},
    }  # fmt: skip
    report = evaluate(prod, _definition(tmp_path, rule), {})
    assert report.findings == []
    (line,) = report.not_evaluated
    assert "unknown alias 'Microsoft.Storage/storageAccounts/networkAcls.defaultAction'" in line


def test_a_parameter_without_value_or_default(prod: list[PlannedResource], tmp_path: Path) -> None:
    rule = {"if": {"field": "location", "notIn": "[parameters('allowed')]"}, "then": {"effect": "deny"}}
    directory = _definition(tmp_path, rule, parameters={"allowed": {"type": "Array"}})
    report = evaluate(prod, directory, {})
    assert report.findings == [] and "parameter 'allowed' has no value" in report.not_evaluated[0]
    assert (
        evaluate(prod, directory, {"custom": {"allowed": ["westeurope", "northeurope"]}}).not_evaluated == []
    )


def test_indexed_mode_skips_types_without_tags_and_location(
    prod: list[PlannedResource], tmp_path: Path
) -> None:
    rule = {
        "if": {"field": "type", "equals": "Microsoft.Authorization/roleAssignments"},
        "then": {"effect": "audit"},
    }
    assert evaluate(prod, _definition(tmp_path, rule, mode="Indexed"), {}).findings == []
    assignments = [r for r in prod if r.type == "azure-native:authorization:RoleAssignment"]
    assert assignments
    assert len(evaluate(prod, _definition(tmp_path, rule, mode="All"), {}).findings) == len(assignments)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{oops", ":1: not JSON"),
        ('{"properties": {"policyRule": {"if": {}}}}', "no policyRule with `if` and `then`"),
        ('{"properties": {"policyDefinitions": {}}}', "policyDefinitions is not a list"),
        ("[]", "not a policy definition"),
    ],
)
def test_a_bad_definition_file_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(AzurePolicyError, match=message):
        evaluate([], tmp_path, {})
    assert main(["policy", "--stack", "prod", "--as-of", "2026-12-01", "--azure-policy", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "bad.json" in err


def test_a_missing_or_empty_directory_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "--stack", "prod", "--azure-policy", str(tmp_path / "absent")]) == 2
    assert "no such directory of Azure Policy definitions" in capsys.readouterr().err
    assert main(["policy", "--stack", "prod", "--azure-policy", str(tmp_path)]) == 2
    assert "no Azure Policy definitions (*.json)" in capsys.readouterr().err


def test_an_initiative_member_missing_from_the_directory(tmp_path: Path) -> None:
    initiative = {
        "name": "set",
        "properties": {"policyDefinitions": [{"policyDefinitionId": "/x/policyDefinitions/absent"}]},
    }
    (tmp_path / "set.json").write_text(json.dumps(initiative))
    assert evaluate([], tmp_path, {}).not_evaluated == [
        f"set: policyDefinitions[0] absent is not a definition in {tmp_path}"
    ]


def test_the_cli_fails_on_a_deny_and_the_environment_can_name_its_definitions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["policy", "--stack", "dev", "--as-of", "2026-12-01", "--azure-policy", str(EXAMPLES)])
        == POLICY_FAILED
    )
    out = capsys.readouterr().out
    assert "DENY azure-native:machinelearningservices:Workspace nlp-research-workspace" in out
    assert main(["policy", "--stack", "prod", "--as-of", "2026-12-01", "--azure-policy", str(EXAMPLES)]) == 0

    sandbox = Sandbox.from_examples(tmp_path / "repo")
    shutil.copytree(EXAMPLES, sandbox.root / "landing-zone")
    environment = example_environment("dev")
    environment["policy"]["azure_policy_dir"] = "landing-zone"
    environment["policy"]["azure_policy_parameters"] = {
        "workspace-public-network-disabled": {"effect": "Audit"}
    }
    sandbox.stack("dev", environment)
    assert (
        main(["--root", str(sandbox.root), "plan", "--stack", "dev", "--as-of", "2026-12-01"])
        == POLICY_FAILED
    )
    out = capsys.readouterr().out
    # The initiative assigns the definition with Deny: the environment's Audit applies on its own only.
    assert "Azure Policy (infra/azure_policy):" in out and "(initiative ml-landing-zone)" in out
    (sandbox.root / "landing-zone" / "ml-guardrails-initiative.json").unlink()
    assert main(["--root", str(sandbox.root), "plan", "--stack", "dev", "--as-of", "2026-12-01"]) == 0
    assert (
        "AUDIT azure-native:machinelearningservices:Workspace nlp-research-workspace"
        in capsys.readouterr().out
    )


def test_the_prod_example_names_its_landing_zone_and_passes_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert example_environment("prod")["policy"]["azure_policy_dir"] == "policies/azure"
    assert main(["plan", "--stack", "prod", "--as-of", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    assert (
        "Azure Policy (infra/azure_policy):\n  policies/azure: 4 definitions, 1 initiatives: 0 deny, 0 audit"
        in out
    )
