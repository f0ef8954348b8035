"""Bad configuration fails before anything is registered, naming the file and the field."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, Layout, validate_all
from infra.plan.runtime import PlanMocks, RecordingMonitor
from tests.infra.sandbox import Sandbox, example_environment, example_project

ENV_FIELD = "config.mlplatform:environment"


def plan_error(sandbox: Sandbox, stack: str = "dev") -> ConfigError:
    monitor = RecordingMonitor(PlanMocks())
    with pytest.raises(ConfigError) as caught:
        sandbox.plan(stack, monitor=monitor)
    assert monitor.recorded == {}, "nothing may be registered when configuration is invalid"
    return caught.value


def messages(error: ConfigError) -> list[str]:
    return [str(issue) for issue in error.issues]


def assert_issue(error: ConfigError, file: str, path: str, *fragments: str) -> None:
    matching = [i for i in error.issues if i.file == file and i.path == path]
    assert matching, f"no issue at {file}: {path}; got {messages(error)}"
    text = " ".join(issue.message for issue in matching)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"


def test_example_configuration_is_valid(sandbox: Sandbox) -> None:
    assert validate_all(Layout(sandbox.root)) == []


def test_missing_required_environment_field(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    del environment["owner"]
    sandbox.stack("dev", environment)
    error = plan_error(sandbox)
    assert_issue(error, "stacks/Pulumi.dev.yaml", f"{ENV_FIELD}.owner", "required field is missing")


def test_unknown_key_in_environment_is_an_error(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["network"]["isolaton_mode"] = "Disabled"
    sandbox.stack("dev", environment)
    assert_issue(
        plan_error(sandbox), "stacks/Pulumi.dev.yaml", f"{ENV_FIELD}.network.isolaton_mode", "unknown key"
    )


def test_invalid_isolation_mode_lists_what_is_allowed(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["network"]["isolation_mode"] = "Private"
    sandbox.stack("dev", environment)
    assert_issue(
        plan_error(sandbox),
        "stacks/Pulumi.dev.yaml",
        f"{ENV_FIELD}.network.isolation_mode",
        "'Disabled'",
        "'AllowInternetOutbound'",
        "'AllowOnlyApprovedOutbound'",
    )


def test_unknown_key_in_project_is_an_error(sandbox: Sandbox) -> None:
    project = example_project("vision-lab")
    project["clusters"]["t4-spot"]["max_node"] = 3
    sandbox.project("vision-lab.yaml", project)
    assert_issue(
        plan_error(sandbox), "stacks/projects/vision-lab.yaml", "clusters.t4-spot.max_node", "unknown key"
    )


def test_unknown_vm_size_names_the_cluster_and_the_known_sizes(sandbox: Sandbox) -> None:
    project = example_project("vision-lab")
    project["clusters"]["t4-spot"]["vm_size"] = "Standard_D4s_v5"
    sandbox.project("vision-lab.yaml", project)
    assert_issue(
        plan_error(sandbox),
        "stacks/projects/vision-lab.yaml",
        "clusters.t4-spot.vm_size",
        "unknown GPU VM size 'Standard_D4s_v5'",
        "Standard_NC24ads_A100_v4",
    )


def test_error_in_an_environment_override_points_at_the_override(sandbox: Sandbox) -> None:
    project = example_project("nlp-research")
    project["environments"]["prod"]["clusters"]["a100"]["max_nodes"] = 0
    sandbox.project("nlp-research.yaml", project)
    assert_issue(
        plan_error(sandbox, "prod"),
        "stacks/projects/nlp-research.yaml",
        "environments.prod.clusters.a100.max_nodes",
        "greater than or equal to 1",
    )


def test_min_nodes_above_max_nodes(sandbox: Sandbox) -> None:
    project = example_project("vision-lab")
    project["clusters"]["t4-spot"]["min_nodes"] = 3
    sandbox.project("vision-lab.yaml", project)
    assert_issue(plan_error(sandbox), "stacks/projects/vision-lab.yaml", "clusters.t4-spot", "min_nodes (3)")


def test_project_name_whose_workspace_name_cannot_fit(sandbox: Sandbox) -> None:
    project = example_project("vision-lab")
    project["name"] = "vision-language-research"
    sandbox.project("vision-lab.yaml", project)
    assert_issue(
        plan_error(sandbox),
        "stacks/projects/vision-lab.yaml",
        "name",
        "in environment dev",
        "Azure allows at most 33",
        "shorten the project name by",
    )


def test_duplicate_project_names_name_both_files(sandbox: Sandbox) -> None:
    sandbox.project("vision-lab-copy.yaml", example_project("vision-lab"))
    error = plan_error(sandbox)
    for file in ("stacks/projects/vision-lab.yaml", "stacks/projects/vision-lab-copy.yaml"):
        assert_issue(error, file, "name", "'vision-lab' is used by", "vision-lab-copy.yaml")


def test_project_in_an_environment_that_does_not_exist(sandbox: Sandbox) -> None:
    project = example_project("vision-lab")
    project["environments"]["staging"] = {}
    sandbox.project("vision-lab.yaml", project)
    assert_issue(
        plan_error(sandbox),
        "stacks/projects/vision-lab.yaml",
        "environments.staging",
        "no such environment",
        "known: dev, prod",
    )


def test_key_that_cannot_be_overridden_per_environment(sandbox: Sandbox) -> None:
    project = example_project("vision-lab")
    project["environments"]["dev"] = {"owner": "someone@contoso.com"}
    sandbox.project("vision-lab.yaml", project)
    assert_issue(
        plan_error(sandbox), "stacks/projects/vision-lab.yaml", "environments.dev.owner", "overridable:"
    )


def test_every_problem_in_every_file_is_reported_at_once(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["prefix"] = "Not-Valid"
    sandbox.stack("dev", environment)
    nlp = example_project("nlp-research")
    nlp["owner"] = "not-an-email"
    sandbox.project("nlp-research.yaml", nlp)
    vision = example_project("vision-lab")
    vision["clusters"]["t4-spot"]["priority"] = "Spot"
    sandbox.project("vision-lab.yaml", vision)

    issues = {(i.file, i.path) for i in validate_all(Layout(sandbox.root))}
    assert {
        ("stacks/Pulumi.dev.yaml", f"{ENV_FIELD}.prefix"),
        ("stacks/projects/nlp-research.yaml", "owner"),
        ("stacks/projects/vision-lab.yaml", "clusters.t4-spot.priority"),
    } <= issues


def test_yaml_syntax_error_gives_line_and_column(sandbox: Sandbox) -> None:
    sandbox.project("broken.yaml", "name: broken\nclusters: [unclosed\n")
    error = plan_error(sandbox)
    broken = [issue for issue in error.issues if issue.file == "stacks/projects/broken.yaml"]
    assert len(broken) == 1 and "not valid YAML (column 1)" in broken[0].message
    assert broken[0].line == 3 and str(broken[0]).startswith("stacks/projects/broken.yaml:3: not valid YAML")


def test_private_network_without_private_endpoints_is_refused(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["network"]["public_network_access"] = False
    sandbox.stack("dev", environment)
    assert_issue(plan_error(sandbox), "stacks/Pulumi.dev.yaml", f"{ENV_FIELD}.network", "nobody could reach")


def test_fqdn_rules_need_approved_outbound_only(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["network"]["outbound_rules"] = {"pypi": {"type": "FQDN", "destination": "pypi.org"}}
    sandbox.stack("dev", environment)
    assert_issue(
        plan_error(sandbox), "stacks/Pulumi.dev.yaml", f"{ENV_FIELD}.network", "AllowOnlyApprovedOutbound"
    )


def test_basic_container_registry_cannot_be_private(sandbox: Sandbox) -> None:
    environment = example_environment("prod")
    environment["container_registry"] = {"sku": "Basic"}
    sandbox.stack("prod", environment)
    assert_issue(plan_error(sandbox, "prod"), "stacks/Pulumi.prod.yaml", ENV_FIELD, "need Premium")


def test_reserved_tags_are_set_by_the_platform(sandbox: Sandbox) -> None:
    project = example_project("vision-lab")
    project["tags"] = {"owner": "someone-else"}
    sandbox.project("vision-lab.yaml", project)
    assert_issue(
        plan_error(sandbox), "stacks/projects/vision-lab.yaml", "tags", "owner is set by the platform"
    )


def test_registry_needs_exactly_one_of_create_or_existing(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["registry"] = {}
    sandbox.stack("dev", environment)
    assert_issue(plan_error(sandbox), "stacks/Pulumi.dev.yaml", f"{ENV_FIELD}.registry", "exactly one of")


def test_secret_inside_structured_environment_is_refused(sandbox: Sandbox) -> None:
    environment: dict[str, Any] = example_environment("dev")
    environment["owner"] = {"secure": "v1:AAAA"}
    sandbox.stack("dev", environment)
    assert_issue(plan_error(sandbox), "stacks/Pulumi.dev.yaml", ENV_FIELD, "holds a secret value")


def test_two_environments_with_the_same_names_are_refused(sandbox: Sandbox) -> None:
    environment = example_environment("prod")
    environment["short_name"] = "dev"
    sandbox.stack("prod", environment)
    issues = validate_all(Layout(sandbox.root))
    assert any(
        issue.file == "stacks/Pulumi.prod.yaml"
        and issue.path.endswith("short_name")
        and "mlp-dev" in issue.message
        for issue in issues
    ), issues


def test_unknown_stack_is_a_clear_error(sandbox: Sandbox) -> None:
    with pytest.raises(ConfigError, match="no such stack; stacks: dev, prod"):
        sandbox.plan("staging")


def test_program_reports_environment_and_project_problems_together(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["location"] = "West Europe"
    sandbox.stack("dev", environment)
    project = example_project("vision-lab")
    project["clusters"]["t4-spot"]["max_nodes"] = -1
    sandbox.project("vision-lab.yaml", project)
    error = plan_error(sandbox)
    assert_issue(error, "stacks/Pulumi.dev.yaml", f"{ENV_FIELD}.location", "an Azure region name")
    assert_issue(
        error, "stacks/projects/vision-lab.yaml", "clusters.t4-spot.max_nodes", "greater than or equal to 1"
    )
