"""The pack directory is a valid pulumi-policy pack registering every rule, and its policies behave
under the CLI's calling convention as they do offline."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from infra.guardrails.context import GuardrailContext
from infra.guardrails.core import stack_of
from infra.guardrails.pack import PACK_NAME, Guardrails, pack_config, policies
from infra.guardrails.rules import RESOURCE_RULES, RULE_NAMES, STACK_RULES
from infra.plan.offline import REPOSITORY
from tests.infra.sandbox import Sandbox, example_environment

PACK = REPOSITORY / "policy"


def test_the_pack_directory_is_a_python_policy_pack() -> None:
    manifest = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    venv = PACK / manifest["runtime"]["options"]["virtualenv"]
    assert venv.resolve() == (REPOSITORY / ".venv").resolve()


def test_the_pack_program_registers_the_rule_modules_policies() -> None:
    # Parsed, never imported: PolicyPack(...) starts the analyzer's gRPC server.
    tree = ast.parse((PACK / "__main__.py").read_text())
    imports = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("infra.guardrails.pack", "policies") in imports
    assert ("pulumi_policy", "PolicyPack") in imports
    (call,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "PolicyPack"
    ]
    keywords = {k.arg: k.value for k in call.keywords}
    assert (
        isinstance(keywords["policies"], ast.Call)
        and getattr(keywords["policies"].func, "id", "") == "policies"
    )
    assert getattr(keywords["name"], "id", "") == "PACK_NAME"


def test_every_rule_is_registered_once_with_its_level_and_how_to_fix() -> None:
    registered = policies(Guardrails(REPOSITORY))
    assert [p.name for p in registered] == [r.name for r in (*RESOURCE_RULES, *STACK_RULES)]
    assert {p.name for p in registered} == RULE_NAMES and len(registered) == len(RULE_NAMES)
    rules = {r.name: r for r in (*RESOURCE_RULES, *STACK_RULES)}
    for policy in registered:
        rule = rules[policy.name]
        assert policy.description == rule.description and len(policy.description) > 30
        assert policy.enforcement_level == EnforcementLevel(rule.level.value)
        expected = ResourceValidationPolicy if rule in RESOURCE_RULES else StackValidationPolicy
        assert isinstance(policy, expected)
    assert PACK_NAME == "mlplatform-guardrails"


def _cli_args(
    urn: str, type_: str, props: dict[str, object], protect: bool = False
) -> ResourceValidationArgs:
    options = PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    return ResourceValidationArgs(type_, props, urn, urn.rsplit("::", 1)[-1], options, None)


STORAGE_URN = "urn:pulumi:{stack}::mlplatform::mlplatform:project:Project$azure-native:storage:StorageAccount::p-storage"


def test_under_the_cli_a_policy_reads_the_stack_from_the_urn(tmp_path: Path) -> None:
    sandbox = Sandbox.from_examples(tmp_path)
    (shared_key,) = [p for p in policies(Guardrails(sandbox.root)) if p.name == "storage-shared-key-off"]
    assert isinstance(shared_key, ResourceValidationPolicy)
    reported: list[tuple[str, str | None]] = []
    urn = STORAGE_URN.format(stack="prod")
    assert stack_of(urn) == "prod"
    shared_key.validate(
        _cli_args(urn, "azure-native:storage:StorageAccount", {"allowSharedKeyAccess": True}),
        lambda message, urn=None: reported.append((message, urn)),
    )
    assert reported == [("allowSharedKeyAccess is True, not False", urn)]

    # An environment that disables the rule: the pack itself skips it.
    environment = example_environment("dev")
    environment["policy"]["overrides"]["storage-shared-key-off"] = {
        "level": "disabled",
        "reason": "a test environment without Entra ID",
    }
    sandbox.stack("dev", environment)
    reported.clear()
    (shared_key,) = [p for p in policies(Guardrails(sandbox.root)) if p.name == "storage-shared-key-off"]
    assert isinstance(shared_key, ResourceValidationPolicy)
    shared_key.validate(
        _cli_args(
            STORAGE_URN.format(stack="dev"),
            "azure-native:storage:StorageAccount",
            {"allowSharedKeyAccess": True},
        ),
        lambda message, urn=None: reported.append((message, urn)),
    )
    assert reported == []


def test_a_stack_whose_config_cannot_be_read_is_one_violation(tmp_path: Path) -> None:
    sandbox = Sandbox.from_examples(tmp_path)
    (policy,) = [p for p in policies(Guardrails(sandbox.root)) if p.name == "storage-shared-key-off"]
    assert isinstance(policy, ResourceValidationPolicy)
    reported: list[str] = []
    policy.validate(
        _cli_args(STORAGE_URN.format(stack="qa"), "azure-native:storage:StorageAccount", {}),
        lambda message, urn=None: reported.append(message),
    )
    assert (
        len(reported) == 1
        and "configuration cannot be read" in reported[0]
        and "Pulumi.qa.yaml" in reported[0]
    )


def test_the_pack_config_carries_the_environments_levels(dev_context: GuardrailContext) -> None:
    assert pack_config(dev_context) == {
        "ml-workspace-public-network": {"enforcementLevel": "advisory"},
        "project-budget": {"enforcementLevel": "advisory"},
    }
