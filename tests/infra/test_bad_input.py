"""Wrong input a new user writes: every case ends as one problem naming file, field and line, with
nothing registered, and never as a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.config import ConfigError, Layout, validate_all
from infra.config.errors import ConfigIssue
from infra.onboard import onboard
from infra.plan.runtime import PlanMocks, RecordingMonitor
from tests.infra.sandbox import AS_OF, Sandbox, example_environment, example_project

ENV = "config.mlplatform:environment"
DEV = "stacks/Pulumi.dev.yaml"
PROD = "stacks/Pulumi.prod.yaml"
NLP = "stacks/projects/nlp-research.yaml"
VISION = "stacks/projects/vision-lab.yaml"


def problems(sandbox: Sandbox, stack: str = "dev") -> list[ConfigIssue]:
    """Every problem `pulumi up` of `stack` reports, after checking it registered nothing; the
    same problems must come from `python -m infra validate`."""
    monitor = RecordingMonitor(PlanMocks())
    with pytest.raises(ConfigError) as caught:
        sandbox.plan(stack, monitor=monitor)
    assert monitor.recorded == {}, "nothing may be registered when configuration is invalid"
    validated = validate_all(Layout(sandbox.root), as_of=AS_OF)
    assert set(caught.value.issues) <= set(validated)
    return caught.value.issues


def only(sandbox: Sandbox, file: str, path: str, stack: str = "dev") -> ConfigIssue:
    found = [i for i in problems(sandbox, stack) if (i.file, i.path) == (file, path)]
    assert len(found) == 1, [str(i) for i in problems(sandbox, stack)]
    return found[0]


def run_cli(*args: str, cwd: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )


# --- files ------------------------------------------------------------------------------------


def test_a_key_given_twice_is_refused_with_both_lines(sandbox: Sandbox) -> None:
    text = (sandbox.root / NLP).read_text()
    sandbox.project(
        "nlp-research.yaml",
        text + "clusters:\n  tiny:\n    vm_size: Standard_NC4as_T4_v3\n    max_nodes: 1\n",
    )
    issue = only(sandbox, NLP, "clusters")
    first = text.splitlines().index("clusters:") + 1
    last = len(text.splitlines()) + 1
    assert f"lines {first} and {last}" in issue.message and issue.line == last


def test_an_environment_given_twice_is_refused(sandbox: Sandbox) -> None:
    text = (sandbox.root / NLP).read_text().replace("environments:\n", "environments:\n  prod: {}\n", 1)
    sandbox.project("nlp-research.yaml", text)
    issue = only(sandbox, NLP, "environments.prod")
    assert "given twice" in issue.message


@pytest.mark.cli
def test_a_file_that_is_not_utf8_is_one_problem(sandbox: Sandbox) -> None:
    (sandbox.root / VISION).write_bytes("name: vision-lab\ndescription: caf\xe9\n".encode("latin-1"))
    (issue,) = [i for i in validate_all(Layout(sandbox.root)) if i.file == VISION]
    assert "not UTF-8" in issue.message and issue.line == 2
    result = run_cli("validate", cwd=sandbox.root)
    assert result.returncode == 2 and "not UTF-8" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.cli
def test_a_symlink_to_itself_is_one_problem(sandbox: Sandbox) -> None:
    loop = sandbox.root / "stacks" / "projects" / "loop.yaml"
    loop.symlink_to(loop)
    (issue,) = [i for i in validate_all(Layout(sandbox.root)) if i.file == "stacks/projects/loop.yaml"]
    assert "cannot be read" in issue.message
    result = run_cli("validate", cwd=sandbox.root)
    assert (
        result.returncode == 2
        and "loop.yaml: cannot be read" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_project_files_in_subfolders_are_refused_not_ignored(sandbox: Sandbox) -> None:
    (sandbox.root / "stacks" / "projects" / "team-a").mkdir()
    (sandbox.root / "stacks" / "projects" / "team-a" / "speech.yaml").write_text("name: speech\n")
    issue = only(sandbox, "stacks/projects/team-a/speech.yaml", "")
    assert "subfolder" in issue.message


def test_a_file_named_unlike_its_project_is_refused(sandbox: Sandbox) -> None:
    sandbox.remove_project("vision-lab.yaml")
    sandbox.project("vision.yaml", example_project("vision-lab"))
    issue = only(sandbox, "stacks/projects/vision.yaml", "name")
    assert "(vision-lab.yaml)" in issue.message and issue.line == 1


def test_a_copied_stack_file_would_manage_the_originals_resources(sandbox: Sandbox) -> None:
    sandbox.stack("staging", example_environment("dev"))
    issue = only(sandbox, "stacks/Pulumi.staging.yaml", f"{ENV}.short_name", stack="staging")
    assert "stacks/Pulumi.dev.yaml" in issue.message and "same resources" in issue.message


def test_a_key_without_namespace_is_the_projects_as_the_cli_reads_it(sandbox: Sandbox) -> None:
    # pulumi/pulumi sdk/go/common/workspace/loaders.go puts it in the project's namespace (3.44+)
    path = sandbox.root / DEV
    path.write_text(path.read_text().replace("mlplatform:environment:", "environment:"))
    assert validate_all(Layout(sandbox.root), as_of=AS_OF) == []
    assert (
        sandbox.plan("dev").get("azure-native:resources:ResourceGroup", "shared-rg").physical_name
        == "rg-mlp-dev-shared"
    )


# --- environment ------------------------------------------------------------------------------


def with_environment(sandbox: Sandbox, stack: str, change: Any) -> None:
    environment = example_environment(stack)
    change(environment)
    sandbox.stack(stack, environment)


def test_a_region_typo_suggests_the_region(sandbox: Sandbox) -> None:
    with_environment(sandbox, "dev", lambda e: e.update(location="westeurop"))
    issue = only(sandbox, DEV, f"{ENV}.location")
    assert "did you mean westeurope?" in issue.message and issue.line > 0


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"type": "FQDN", "destination": "https://pypi.org/simple"}, "is a URL"),
        ({"type": "FQDN", "destination": "*"}, "a lone '*' would allow everything"),
        ({"type": "FQDN", "destination": "pypi org"}, "is not a host name"),
        ({"type": "ServiceTag", "service_tag": "AzureMonitor", "port_ranges": "443-"}, "is not a port list"),
        ({"type": "ServiceTag", "service_tag": "AzureMonitor", "port_ranges": "70000"}, "is not a port list"),
        ({"type": "ServiceTag", "service_tag": "AzureMonitor", "port_ranges": "9000-8000"}, "runs backwards"),
        (
            {
                "type": "PrivateEndpoint",
                "service_resource_id": "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-data",
                "subresource_target": "blob",
            },
            "offers vault",
        ),
    ],
    ids=["url", "star", "space", "open-range", "port-too-high", "backwards", "wrong-subresource"],
)
def test_outbound_rule_mistakes(sandbox: Sandbox, rule: dict[str, Any], fragment: str) -> None:
    with_environment(sandbox, "prod", lambda e: e["network"]["outbound_rules"].update(bad=rule))
    found = [i for i in problems(sandbox, "prod") if i.path.startswith(f"{ENV}.network.outbound_rules.bad")]
    assert found and fragment in " ".join(i.message for i in found), [str(i) for i in found]


@pytest.mark.parametrize("name", ["ab", "-rule", "a" * 34, "ml-registry"])
def test_outbound_rule_names_azure_refuses_or_the_platform_owns(sandbox: Sandbox, name: str) -> None:
    rule = {"type": "FQDN", "destination": "example.com"}
    with_environment(sandbox, "prod", lambda e: e["network"]["outbound_rules"].update({name: rule}))
    issue = only(sandbox, PROD, f"{ENV}.network.outbound_rules", stack="prod")
    assert repr(name) in issue.message


def test_service_tag_rules_need_approved_outbound_only(sandbox: Sandbox) -> None:
    rule = {"type": "ServiceTag", "service_tag": "AzureMonitor"}
    with_environment(sandbox, "dev", lambda e: e["network"].update(outbound_rules={"monitor": rule}))
    issue = only(sandbox, DEV, f"{ENV}.network")
    assert "only apply under isolation_mode AllowOnlyApprovedOutbound" in issue.message


@pytest.mark.parametrize("tag", ["Storage", "Storage.WestEurope", "AzureFrontDoor.FrontEnd"])
def test_exfiltration_service_tags_need_a_recorded_exception_in_production(
    sandbox: Sandbox, tag: str
) -> None:
    rule = {"type": "ServiceTag", "service_tag": tag, "protocol": "TCP", "port_ranges": "443"}
    with_environment(sandbox, "prod", lambda e: e["network"]["outbound_rules"].update(broad=rule))
    issue = only(sandbox, PROD, ENV, stack="prod")
    assert "exfiltration" in issue.message and "service_tag_exceptions" in issue.message

    def excepted(environment: dict[str, Any]) -> None:
        environment["network"]["outbound_rules"]["broad"] = rule
        environment["network"]["service_tag_exceptions"] = [{"rule": "broad", "reason": "vendor feed SEC-77"}]

    with_environment(sandbox, "prod", excepted)
    workspace = sandbox.plan("prod").get(
        "azure-native:machinelearningservices:Workspace", "nlp-research-workspace"
    )
    assert workspace.inputs["managedNetwork"]["outboundRules"]["broad"]["destination"]["serviceTag"] == tag
    assert any("SEC-77" in line for s in sandbox_sections(sandbox, "prod") for line in s.lines)


def sandbox_sections(sandbox: Sandbox, stack: str) -> list[Any]:
    from infra.plan.sections import plan_sections

    return plan_sections(sandbox.model(stack))


def test_a_dns_zone_of_the_wrong_zone_is_refused(sandbox: Sandbox) -> None:
    def swap(environment: dict[str, Any]) -> None:
        zones = environment["network"]["private_endpoints"]["dns_zone_ids"]
        zones["blob"], zones["file"] = zones["file"], zones["blob"]

    with_environment(sandbox, "prod", swap)
    found = {i.path: i.message for i in problems(sandbox, "prod")}
    zones = f"{ENV}.network.private_endpoints.dns_zone_ids"
    assert "register in privatelink.blob.core.windows.net" in found[f"{zones}.blob"]
    assert "register in privatelink.file.core.windows.net" in found[f"{zones}.file"]


@pytest.mark.parametrize(
    "registry_id",
    [
        "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-mlp-prd-shared/providers/Microsoft.MachineLearningServices/registries/mlr-mlp-prd-0a71/models/llama",
        "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-mlp-prd-shared/providers/Microsoft.MachineLearningServices/workspaces/mlr-mlp-prd-0a71",
        "mlr-mlp-prd-0a71",
    ],
    ids=["a-child-of-a-registry", "a-workspace", "a-name"],
)
def test_a_registry_id_that_is_not_exactly_a_registry(sandbox: Sandbox, registry_id: str) -> None:
    with_environment(sandbox, "dev", lambda e: e["registry"].update(existing_id=registry_id))
    issue = only(sandbox, DEV, f"{ENV}.registry")
    assert "is not exactly an Azure ML registry id" in issue.message


def test_a_workspace_without_a_path_to_a_private_registry_is_refused(sandbox: Sandbox) -> None:
    with_environment(sandbox, "dev", lambda e: e["network"].update(isolation_mode="Disabled"))
    issue = only(sandbox, DEV, f"{ENV}.network.isolation_mode")
    assert "accepts no public traffic" in issue.message and "nlp-research, vision-lab" in issue.message


def test_firewall_sku_is_configurable(sandbox: Sandbox) -> None:
    with_environment(sandbox, "prod", lambda e: e["network"].update(firewall_sku="Basic"))
    workspace = sandbox.plan("prod").get(
        "azure-native:machinelearningservices:Workspace", "nlp-research-workspace"
    )
    assert workspace.inputs["managedNetwork"]["firewallSku"] == "Basic"
    with_environment(sandbox, "prod", lambda e: e["network"].update(firewall_sku="Premium"))
    assert "'Basic' or 'Standard'" in only(sandbox, PROD, f"{ENV}.network.firewall_sku", stack="prod").message


# --- projects ---------------------------------------------------------------------------------


def with_project(sandbox: Sandbox, name: str, change: Any) -> None:
    project = example_project(name)
    change(project)
    sandbox.project(f"{name}.yaml", project)


@pytest.mark.parametrize("key", ["Owner", "COST-CENTER", "Managed-By"])
def test_reserved_tags_in_another_case_are_refused(sandbox: Sandbox, key: str) -> None:
    with_project(sandbox, "nlp-research", lambda p: p["tags"].update({key: "x"}))
    assert "case-insensitive" in only(sandbox, NLP, "tags").message


def test_more_tags_than_azure_allows_are_refused(sandbox: Sandbox) -> None:
    with_project(sandbox, "vision-lab", lambda p: p.update(tags={f"t{i}": "x" for i in range(46)}))
    issue = only(sandbox, VISION, "tags")
    assert "Azure allows 50 per resource" in issue.message


def test_project_and_environment_tags_together_over_the_limit(sandbox: Sandbox) -> None:
    with_project(sandbox, "vision-lab", lambda p: p.update(tags={f"t{i}": "x" for i in range(44)}))
    issue = only(sandbox, VISION, "tags")  # dev adds data-classification: 45 + 6 of the platform's
    assert "51 tags" in issue.message


def test_the_nil_guid_is_no_principal(sandbox: Sandbox) -> None:
    with_project(
        sandbox,
        "vision-lab",
        lambda p: p["access"]["data_scientists"][0].update(object_id="00000000-0000-0000-0000-000000000000"),
    )
    assert "nil GUID" in only(sandbox, VISION, "access.data_scientists[0].object_id").message


def test_paths_keep_capitalised_keys(sandbox: Sandbox) -> None:
    with_environment(sandbox, "dev", lambda e: e["gpu_quota"].update(StandardNCADSA100v4Family=-1))
    only(sandbox, DEV, f"{ENV}.gpu_quota.StandardNCADSA100v4Family")
    with_environment(sandbox, "dev", lambda e: None)
    with_project(
        sandbox,
        "vision-lab",
        lambda p: p["clusters"].update(A100={"vm_size": "Standard_NC24ads_A100_v4", "max_nodes": 0}),
    )
    only(sandbox, VISION, "clusters.A100.max_nodes")


def test_problems_in_an_override_name_the_environment(sandbox: Sandbox) -> None:
    with_project(
        sandbox, "nlp-research", lambda p: p["environments"]["prod"]["clusters"]["a100"].update(max_nodes=0)
    )
    issue = only(sandbox, NLP, "environments.prod.clusters.a100.max_nodes", stack="prod")
    assert issue.line > 0
    with_project(
        sandbox, "nlp-research", lambda p: p["environments"]["prod"]["clusters"]["a100"].update(min_nodes=5)
    )
    issue = only(sandbox, NLP, "environments.prod.clusters.a100", stack="prod")
    assert "min_nodes (5) is above max_nodes (2)" in issue.message


def test_clusters_differing_only_in_case_or_named_like_the_platforms(sandbox: Sandbox) -> None:
    t4 = {"vm_size": "Standard_NC4as_T4_v3", "max_nodes": 1}
    with_project(sandbox, "vision-lab", lambda p: p["clusters"].update({"T4-Spot": t4}))
    assert "differ only in case" in only(sandbox, VISION, "clusters").message
    with_project(sandbox, "vision-lab", lambda p: p["clusters"].update({"image-build": t4}))
    assert "image-build cluster" in only(sandbox, VISION, "clusters").message


def test_onboard_keeps_the_budget_as_typed(sandbox: Sandbox) -> None:
    path = onboard(
        Layout(sandbox.root), "speech-lab", owner="a@contoso.com", cost_center="CC-1", budget=12499.99
    )
    assert re.search(r"monthly_amount: 12499.99\n", path.read_text())
    assert (
        sandbox.plan("dev").get("azure-native:consumption:Budget", "speech-lab-budget").inputs["amount"]
        == 12499.99
    )


def test_outbound_rules_need_a_managed_network(sandbox: Sandbox) -> None:
    def disabled(environment: dict[str, Any]) -> None:
        environment["network"]["isolation_mode"] = "Disabled"
        environment["registry"]["existing_public_network_access"] = True
        environment["network"]["outbound_rules"] = {
            "data": {
                "type": "PrivateEndpoint",
                "service_resource_id": "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stdata",
                "subresource_target": "blob",
            }
        }

    with_environment(sandbox, "dev", disabled)
    assert "need a managed network" in only(sandbox, DEV, f"{ENV}.network").message


def _rules_of_each_kind(environment: dict[str, Any]) -> None:
    environment["network"]["outbound_rules"].update(
        monitor={"type": "ServiceTag", "service_tag": "AzureMonitor", "port_ranges": "80, 8080-8089"},
        data={
            "type": "PrivateEndpoint",
            "service_resource_id": "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stdata",
            "subresource_target": "Blob",
        },
        wheels={"type": "FQDN", "destination": "*.pythonhosted.org"},
    )


def test_what_azure_accepts_is_not_refused(sandbox: Sandbox) -> None:
    """The other side of strict validation: Microsoft's own spellings pass."""
    with_environment(sandbox, "prod", _rules_of_each_kind)
    assert validate_all(Layout(sandbox.root), as_of=AS_OF) == []


def test_outbound_rules_of_each_kind_are_sent_with_their_fields(sandbox: Sandbox) -> None:
    """What the provider's FQDN, ServiceTag and PrivateEndpoint outbound rule types send."""
    with_environment(sandbox, "prod", _rules_of_each_kind)
    workspace = sandbox.plan("prod").get(
        "azure-native:machinelearningservices:Workspace", "nlp-research-workspace"
    )
    rules = workspace.inputs["managedNetwork"]["outboundRules"]
    assert rules["monitor"] == {
        "category": "UserDefined",
        "destination": {
            "action": "Allow",
            "portRanges": "80, 8080-8089",
            "protocol": "TCP",
            "serviceTag": "AzureMonitor",
        },
        "type": "ServiceTag",
    }
    assert rules["data"] == {
        "category": "UserDefined",
        "destination": {
            "serviceResourceId": "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg/providers/"
            "Microsoft.Storage/storageAccounts/stdata",
            "subresourceTarget": "Blob",
        },
        "type": "PrivateEndpoint",
    }
    assert rules["wheels"] == {"category": "UserDefined", "destination": "*.pythonhosted.org", "type": "FQDN"}


def test_a_region_display_name_suggests_its_name(sandbox: Sandbox) -> None:
    with_environment(sandbox, "dev", lambda e: e.update(location="West Europe"))
    assert "did you mean westeurope?" in only(sandbox, DEV, f"{ENV}.location").message


def test_tags_differing_in_case_between_environment_and_project_are_sent_once(sandbox: Sandbox) -> None:
    with_project(sandbox, "vision-lab", lambda p: p.update(tags={"Data-Classification": "public"}))
    workspace = sandbox.plan("dev").get(
        "azure-native:machinelearningservices:Workspace", "vision-lab-workspace"
    )
    tags = workspace.inputs["tags"]
    assert [k for k in tags if k.lower() == "data-classification"] == ["Data-Classification"]
    assert tags["Data-Classification"] == "public"  # the project's, later, wins


def test_private_endpoint_rule_messages_name_what_is_wrong(sandbox: Sandbox) -> None:
    storage = "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stdata"
    for target, subresource, fragment in (
        (storage, "vault", "it offers blob, blob_secondary, dfs, dfs_secondary, file, file_secondary, queue"),
        (
            storage + "/blobServices/default",
            "blob",
            "is not the id of one resource (…/providers/<namespace>/<type>/<name>)",
        ),
    ):
        rule = {"type": "PrivateEndpoint", "service_resource_id": target, "subresource_target": subresource}
        with_environment(sandbox, "prod", lambda e, r=rule: e["network"]["outbound_rules"].update(bad=r))
        found = " ".join(i.message for i in problems(sandbox, "prod") if "outbound_rules.bad" in i.path)
        assert fragment in found, found


@pytest.mark.parametrize("destination", ["pypi.org/simple", "pypi.org:443", "https://pypi.org"])
def test_an_fqdn_rule_is_a_host_name_only(destination: str) -> None:
    from infra.network_rules import check_fqdn

    with pytest.raises(ValueError, match="is a URL or has a port or path"):
        check_fqdn(destination)
    assert check_fqdn("files.pythonhosted.org") == "files.pythonhosted.org"
    with pytest.raises(
        ValueError, match=r"^'\*' is not a host name; .* \(a lone '\*' would allow everything\)$"
    ):
        check_fqdn("*")


def test_a_plan_date_that_is_not_a_date_names_the_variable() -> None:
    from infra.model.budget import AsOfError, as_of_date

    with pytest.raises(AsOfError, match=r"^MLPLATFORM_AS_OF='soon' is not a date \(YYYY-MM-DD\)$"):
        as_of_date({"MLPLATFORM_AS_OF": "soon"})
    assert str(as_of_date({"MLPLATFORM_AS_OF": " 2027-02-28 "})) == "2027-02-28"


@pytest.mark.parametrize("zone", ["Etc/GMT-14", "Etc/GMT+12"])  # at any hour, one of them is on another date
def test_today_is_the_utc_date_in_any_time_zone(zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.model.budget import as_of_date

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert as_of_date({}) == datetime.now(UTC).date()
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_tag_value_may_be_256_characters(sandbox: Sandbox) -> None:
    # Learn, "Use tags to organize your Azure resources", limitations: a tag value has at most 256
    # characters (257 is refused: errors.txt)
    with_project(sandbox, "vision-lab", lambda p: p.setdefault("tags", {}).update({"note": "n" * 256}))
    assert validate_all(Layout(sandbox.root), as_of=AS_OF) == []


def test_a_resource_may_carry_50_tags_and_no_more(sandbox: Sandbox) -> None:
    # Learn, "Use tags to organize your Azure resources", limitations: at most 50 tag name-value
    # pairs per resource. The GPU cluster carries the most: the project's, the environment's and
    # the platform's tags, and its `gpu` tag.
    def cluster_tags() -> int:
        plan = sandbox.plan("dev")
        return len(
            plan.get("azure-native:machinelearningservices:Compute", "vision-lab-t4-spot").inputs["tags"]
        )

    carried = cluster_tags()
    extra = {f"extra-{i}": "x" for i in range(50 - carried)}
    with_project(sandbox, "vision-lab", lambda p: p.setdefault("tags", {}).update(extra))
    assert validate_all(Layout(sandbox.root), as_of=AS_OF) == []
    assert cluster_tags() == 50
    with_project(sandbox, "vision-lab", lambda p: p.setdefault("tags", {}).update({**extra, "one-more": "x"}))
    issue = only(sandbox, "stacks/projects/vision-lab.yaml", "tags")
    assert issue.message == (
        "in environment dev: with the environment's tags and the platform's, the project's resources would "
        "carry 51 tags; Azure allows 50"
    )


def test_an_empty_thresholds_entry_means_the_environments_thresholds(sandbox: Sandbox) -> None:
    # `thresholds:` with nothing after it is YAML null
    with_project(sandbox, "nlp-research", lambda p: p["budget"].update(thresholds=None))
    assert validate_all(Layout(sandbox.root), as_of=AS_OF) == []
    budget = sandbox.plan("dev").get("azure-native:consumption:Budget", "nlp-research-budget")
    thresholds = sorted(n["threshold"] for n in budget.inputs["notifications"].values())
    assert thresholds == [80, 100]  # stacks/Pulumi.dev.yaml budgets.thresholds
