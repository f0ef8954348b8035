"""The plan diff on real program runs: what a reviewer sees for each kind of change, and the
changes it refuses. Every base and head here is the real `__main__.py` under the mock runtime."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.config.loader import Layout, load_platform
from infra.plan.diff import PlanDiff, RefusedChangeError, Step, check_refusals, diff_states
from infra.plan.diff_render import (
    COMMENT_LIMIT,
    marker,
    principal_directory,
    render_diff_text,
    render_markdown,
    summary_line,
    to_preview_json,
)
from infra.plan.render import render_text, to_json
from infra.plan.states import State, from_plan, read_state
from tests.infra.sandbox import Sandbox, example_environment, example_project

EXPECTED = Path(__file__).parent / "expected"


def changed(sandbox: Sandbox, stack: str, change: Callable[[], None]) -> tuple[PlanDiff, State, State]:
    base = from_plan(sandbox.plan(stack), "base")
    change()
    head = from_plan(sandbox.plan(stack))
    return diff_states(base, head), base, head


def text_of(diff: PlanDiff, base: State, head: State, sandbox: Sandbox) -> str:
    principals = principal_directory(load_platform(Layout(sandbox.root), diff.stack))
    return "\n".join(render_diff_text(diff, {**base.resources, **head.resources}, principals))


def only(diff: PlanDiff, op: str, type_suffix: str = "") -> list[Step]:
    return [step for step in diff.of(op) if step.type.endswith(type_suffix)]


def set_project(sandbox: Sandbox, name: str, edit: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
    def change() -> None:
        project = example_project(name)
        edit(project)
        sandbox.project(f"{name}.yaml", project)

    return change


def test_adding_a_project_only_creates(sandbox: Sandbox) -> None:
    def add() -> None:
        project = example_project("vision-lab")
        project["name"] = "speech-lab"
        for index, principal in enumerate(p for people in project["access"].values() for p in people):
            principal |= {"object_id": f"00000000-0000-4000-8000-{index:012d}", "name": f"speech-{index}"}
        sandbox.project("speech-lab.yaml", project)

    diff, base, _ = changed(sandbox, "dev", add)
    assert diff.of("delete") == [] and diff.of("update") == [] and diff.of("replace") == []
    created = {step.name for step in diff.of("create")}
    assert {"speech-lab", "speech-lab-workspace", "speech-lab-storage", "speech-lab-t4-spot"} <= created
    assert summary_line(diff) == f"+ {len(diff.of('create'))} to create, {len(base.resources)} unchanged"


def test_removing_a_project_deletes_its_resources_in_dev(sandbox: Sandbox) -> None:
    diff, _, _ = changed(sandbox, "dev", lambda: sandbox.remove_project("vision-lab.yaml"))
    deleted = {step.name for step in diff.of("delete")}
    assert {"vision-lab", "vision-lab-workspace", "vision-lab-storage", "vision-lab-t4-spot"} <= deleted
    assert diff.of("create") == [] and diff.refusals == []
    check_refusals(diff)


def test_removing_a_project_from_production_is_refused(sandbox: Sandbox) -> None:
    def leave_prod(project: dict[str, Any]) -> None:
        del project["environments"]["prod"]

    diff, _, _ = changed(sandbox, "prod", set_project(sandbox, "nlp-research", leave_prod))
    assert sorted(diff.refusals) == [
        "azure-native:containerregistry:Registry nlp-research-container-registry is protected and would be deleted",
        "azure-native:keyvault:Vault nlp-research-key-vault is protected and would be deleted",
        "azure-native:machinelearningservices:Workspace nlp-research-workspace is protected and would be deleted",
        "azure-native:storage:StorageAccount nlp-research-storage is protected and would be deleted",
    ]
    with pytest.raises(RefusedChangeError, match="pulumi state unprotect"):
        check_refusals(diff)


def test_a_max_nodes_change_is_an_update_showing_old_and_new(sandbox: Sandbox) -> None:
    def scale(project: dict[str, Any]) -> None:
        project["clusters"]["t4-spot"]["max_nodes"] = 3

    diff, base, head = changed(sandbox, "dev", set_project(sandbox, "vision-lab", scale))
    (step,) = diff.changes
    assert (step.op, step.name) == ("update", "vision-lab-t4-spot")
    assert [(c.path, c.kind, c.old, c.new) for c in step.changes] == [
        ("properties.properties.scaleSettings.maxNodeCount", "update", 2, 3)
    ]
    text = text_of(diff, base, head, sandbox)
    assert "~ properties.properties.scaleSettings.maxNodeCount: 2 => 3" in text
    assert summary_line(diff) == f"~ 1 to update, {len(head.resources) - 1} unchanged"


def test_a_vm_size_change_replaces_the_cluster_and_what_its_identity_holds(sandbox: Sandbox) -> None:
    def resize(project: dict[str, Any]) -> None:
        project["clusters"]["t4-spot"]["vm_size"] = "Standard_NC64as_T4_v3"

    diff, base, head = changed(sandbox, "dev", set_project(sandbox, "vision-lab", resize))
    (compute,) = only(diff, "replace", ":Compute")
    assert compute.name == "vision-lab-t4-spot" and compute.replace_reasons == ("properties",)
    vm_size = next(c for c in compute.changes if c.path == "properties.properties.vmSize")
    assert vm_size.kind == "update-replace" and vm_size.new == "Standard_NC64as_T4_v3"
    # a new cluster has a new system identity: its role assignments are new too (principalId forces it)
    others = {step.type for step in diff.changes if step is not compute}
    assert others == {"azure-native:authorization:RoleAssignment"}
    assert all(step.op == "replace" for step in diff.changes)
    assert diff.of("create") == [] and diff.of("delete") == []
    text = text_of(diff, base, head, sandbox)
    assert (
        '~ properties.properties.vmSize: "Standard_NC16as_T4_v3" => "Standard_NC64as_T4_v3"  (forces replacement)'
        in text
    )
    assert "~ principalId: [unknown] => [unknown]  (forces replacement)" in text


def test_a_prefix_change_in_prod_replaces_protected_resources_and_is_refused(sandbox: Sandbox) -> None:
    environment = example_environment("prod")
    environment["prefix"] = "mlq"
    diff, _, _ = changed(sandbox, "prod", lambda: sandbox.stack("prod", environment))
    refused = {refusal.split(" is protected")[0] for refusal in diff.refusals}
    assert refused == {
        "azure-native:keyvault:Vault nlp-research-key-vault",
        "azure-native:storage:StorageAccount nlp-research-storage",
        "azure-native:machinelearningservices:Workspace nlp-research-workspace",
        "azure-native:machinelearningservices:Registry ml-registry",
        "azure-native:containerregistry:Registry nlp-research-container-registry",
    }
    vault = next(r for r in diff.refusals if "key-vault " in r)
    assert vault.endswith("would be replaced: resourceGroupName, vaultName force a new resource")
    assert diff.counts()["replace"] > 20 and diff.counts()["update"] == 0


def test_a_location_change_replaces_every_regional_resource(sandbox: Sandbox) -> None:
    environment = example_environment("dev")
    environment["location"] = "northeurope"
    diff, _, _ = changed(sandbox, "dev", lambda: sandbox.stack("dev", environment))
    groups = only(diff, "replace", ":ResourceGroup")
    assert groups and all("location" in step.replace_reasons for step in groups)
    storage = only(diff, "replace", ":StorageAccount")
    assert storage and all("location" in step.replace_reasons for step in storage)
    assert diff.counts()["update"] == 0 and diff.refusals == []


def test_a_tag_change_updates_in_place(sandbox: Sandbox) -> None:
    def retag(project: dict[str, Any]) -> None:
        project["tags"]["team"] = "perception"

    diff, base, head = changed(sandbox, "dev", set_project(sandbox, "nlp-research", retag))
    assert diff.changes and {step.op for step in diff.changes} == {"update"}
    assert all([c.path for c in step.changes] == ["tags.team"] for step in diff.changes)
    assert '~ tags.team: "nlp" => "perception"' in text_of(diff, base, head, sandbox)


def test_adding_a_person_shows_who_gets_which_role_on_what(sandbox: Sandbox) -> None:
    person = {"object_id": "11111111-2222-4333-8444-555555555555", "kind": "User", "name": "ada@contoso.com"}

    def grant(project: dict[str, Any]) -> None:
        project["access"]["data_scientists"].append(person)

    diff, base, head = changed(sandbox, "dev", set_project(sandbox, "nlp-research", grant))
    assert {step.op for step in diff.changes} == {"create"}
    assert {step.type for step in diff.changes} == {"azure-native:authorization:RoleAssignment"}
    text = text_of(diff, base, head, sandbox)
    assert (
        'principal ada@contoso.com (User), role "AzureML Data Scientist", scope workspaces/mlw-mlp-dev-nlp-research'
        in text
    )
    assert person["object_id"] not in text.split("principal ada@contoso.com")[0]


def test_reordering_project_files_changes_nothing(sandbox: Sandbox) -> None:
    def reorder() -> None:
        for name in ("nlp-research", "vision-lab"):
            project = example_project(name)
            shuffled = dict(reversed(list(project.items())))
            shuffled["clusters"] = dict(reversed(list(project["clusters"].items())))
            shuffled["access"] = {role: list(reversed(p)) for role, p in reversed(project["access"].items())}
            sandbox.project(f"{name}.yaml", shuffled)

    before = (sandbox.root / "stacks" / "projects" / "nlp-research.yaml").read_text()
    diff, _, _ = changed(sandbox, "prod", reorder)
    assert (sandbox.root / "stacks" / "projects" / "nlp-research.yaml").read_text() != before
    assert diff.empty and summary_line(diff).startswith("no changes")


SECRET_PROGRAM = """
import pulumi
from pulumi_azure_native import resources

token = pulumi.Config("mlplatform").require_secret("alertWebhook")
resources.ResourceGroup("rg", resource_group_name="rg-secret", location="westeurope", tags={"webhook": token})
pulumi.export("webhook", token)
"""


def test_a_changed_secret_shows_as_changed_and_stays_masked(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path)
    (tmp_path / "__main__.py").write_text(SECRET_PROGRAM)

    def stack(ciphertext: str) -> None:
        sandbox.stack(
            "dev", example_environment("dev"), **{"mlplatform:alertWebhook": {"secure": ciphertext}}
        )

    stack("v1:AAAAfirst")
    base = from_plan(sandbox.plan("dev"))
    stack("v1:AAAAfirst")
    assert diff_states(base, from_plan(sandbox.plan("dev"))).empty
    stack("v1:BBBBsecond")
    head = from_plan(sandbox.plan("dev"))
    diff = diff_states(base, head)
    (step,) = diff.changes
    assert (step.op, [c.path for c in step.changes]) == ("update", ["tags.webhook"])
    text = "\n".join(render_diff_text(diff, head.resources, {}))
    assert "~ tags.webhook: [secret] => [secret]" in text
    preview = to_preview_json(diff)
    plan_text = render_text(sandbox.plan("dev"))
    assert "  webhook: [secret]" in plan_text
    for shown in (text, preview, render_markdown(diff, head.resources, {}), plan_text):
        assert "AAAA" not in shown and "BBBB" not in shown and "[secret:" not in shown


def stack_export(
    document: dict[str, Any], *, drift: Callable[[dict[str, Any]], None] = lambda r: None
) -> dict[str, Any]:
    """`pulumi stack export` of a stack that `pulumi up` made from this plan: the shape of
    apitype.UntypedDeployment v3, with the stack and provider resources the engine adds, outputs,
    and secrets as signature objects."""
    stack_urn = (
        f"urn:pulumi:{document['stack']}::mlplatform::pulumi:pulumi:Stack::mlplatform-{document['stack']}"
    )
    provider = f"urn:pulumi:{document['stack']}::mlplatform::pulumi:providers:azure-native::default_3_29_0"
    resources: list[dict[str, Any]] = [
        {"urn": stack_urn, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": {}},
        {"urn": provider, "custom": True, "id": "p", "type": "pulumi:providers:azure-native", "inputs": {}},
    ]

    def encrypted(value: Any) -> Any:  # the engine stores secrets as ciphertext objects
        if isinstance(value, dict):
            return {key: encrypted(item) for key, item in value.items()}
        if isinstance(value, str) and value.startswith("[secret"):
            return {
                "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                "ciphertext": "v1:x",
            }
        return value

    for entry in document["resources"]:
        inputs = encrypted(entry["inputs"])
        state = {
            "urn": entry["urn"],
            "custom": entry["custom"],
            "type": entry["type"],
            "inputs": inputs,
            "outputs": {**inputs, "name": entry["physical_name"]},
            "parent": entry["parent"] or stack_urn,
            "dependencies": entry["dependencies"],
            "created": "2026-11-02T10:00:00Z",
        }
        if entry["custom"]:
            state |= {"id": entry["id"], "provider": f"{provider}::p"}
        if entry["options"].get("protect"):
            state["protect"] = True
        drift(state)
        resources.append(state)
    return {
        "version": 3,
        "deployment": {"manifest": {"time": "2026-11-02T10:00:00Z"}, "resources": resources},
    }


def test_diff_against_a_stack_export_shows_drift(sandbox: Sandbox, tmp_path: Path) -> None:
    document = json.loads(to_json(sandbox.plan("dev")))

    def scaled_in_the_portal(state: dict[str, Any]) -> None:
        if state["urn"].endswith("Compute::vision-lab-t4-spot"):
            state["inputs"]["properties"]["properties"]["scaleSettings"]["maxNodeCount"] = 5
        if state["urn"].endswith("ResourceGroup::vision-lab-rg"):
            state["inputs"]["tags"]["owner"] = {
                "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                "ciphertext": "v1:hidden",
            }

    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(stack_export(document, drift=scaled_in_the_portal)))
    base = read_state(exported)
    assert base.stack == "dev" and not any(r.type.startswith("pulumi:") for r in base.resources.values())
    head = from_plan(sandbox.plan("dev"))
    diff = diff_states(base, head)
    changes = {(step.name, c.path, c.old, c.new) for step in diff.changes for c in step.changes}
    assert changes == {
        ("vision-lab-t4-spot", "properties.properties.scaleSettings.maxNodeCount", 5, 2),
        ("vision-lab-rg", "tags.owner", "[secret]", "vision-lead@contoso.com"),
    }
    assert "v1:hidden" not in "\n".join(render_diff_text(diff, head.resources, {}))


def test_markdown_of_a_known_change_matches_the_expected_comment(sandbox: Sandbox) -> None:
    def change(project: dict[str, Any]) -> None:
        project["clusters"]["t4-spot"]["max_nodes"] = 3
        project["access"]["readers"] = [
            {"object_id": "11111111-2222-4333-8444-555555555555", "kind": "User", "name": "ada@contoso.com"}
        ]

    diff, base, head = changed(sandbox, "dev", set_project(sandbox, "vision-lab", change))
    principals = principal_directory(load_platform(Layout(sandbox.root), "dev"))
    markdown = render_markdown(diff, {**base.resources, **head.resources}, principals)
    # the count of unchanged resources follows whatever else the program creates
    expected = (EXPECTED / "markdown-vision-lab-dev.md").read_text()
    assert markdown == expected.replace("{unchanged}", str(diff.counts()["same"]))


def test_markdown_is_cut_on_a_line_boundary_within_the_limit(sandbox: Sandbox) -> None:
    diff, base, head = changed(sandbox, "prod", lambda: sandbox.remove_project("nlp-research.yaml"))
    resources = {**base.resources, **head.resources}
    full = render_markdown(diff, resources, {})
    assert len(full) < COMMENT_LIMIT and full.startswith(marker("prod"))
    cut = render_markdown(diff, resources, {}, limit=3000)
    assert len(cut) <= 3000 and cut.startswith(marker("prod"))
    assert "**- " in cut and "Cut to GitHub's 3,000-character comment limit" in cut
    kept = cut.splitlines()
    assert set(kept[:-1]) <= set(full.splitlines()) | {"```", "</details>", ""}
    assert cut.count("```") % 2 == 0 and cut.count("<details>") == cut.count("</details>")


def test_preview_json_has_pulumis_shape(sandbox: Sandbox) -> None:
    def resize(project: dict[str, Any]) -> None:
        project["clusters"]["t4-spot"]["vm_size"] = "Standard_NC64as_T4_v3"
        project["clusters"]["t4-spot"]["max_nodes"] = 1

    diff, _, _ = changed(sandbox, "dev", set_project(sandbox, "vision-lab", resize))
    document = json.loads(to_preview_json(diff))
    assert document["changeSummary"] == {op: n for op, n in diff.counts().items() if n}
    step = next(s for s in document["steps"] if s["urn"].endswith("Compute::vision-lab-t4-spot"))
    assert step["op"] == "replace" and step["replaceReasons"] == ["properties"]
    assert step["diffReasons"] == ["properties", "tags"]
    assert step["detailedDiff"] == {
        "properties.description": {"kind": "update", "inputDiff": True},
        "properties.properties.scaleSettings.maxNodeCount": {"kind": "update", "inputDiff": True},
        "properties.properties.vmSize": {"kind": "update-replace", "inputDiff": True},
        "tags.gpu": {"kind": "update", "inputDiff": True},
    }
    assert step["oldState"]["inputs"]["properties"]["properties"]["vmSize"] == "Standard_NC16as_T4_v3"
    assert step["newState"]["type"] == "azure-native:machinelearningservices:Compute"
    assert step["newState"]["parent"].endswith("mlplatform:compute:GpuCluster::vision-lab-t4-spot")
    assignment = next(s for s in document["steps"] if "RoleAssignment" in s["urn"])
    assert assignment["newState"]["inputs"]["principalId"] == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def test_computed_values_never_show_as_fake_ids(sandbox: Sandbox) -> None:
    plan = sandbox.plan("prod")
    assert plan.computed_values  # identity principal ids, placeholders in the recorded inputs
    state = from_plan(plan)
    diff = diff_states(State("prod", "empty"), state)
    shown = [
        render_text(plan),
        "\n".join(render_diff_text(diff, state.resources, {})),
        render_markdown(diff, state.resources, {}),
        to_preview_json(diff),
    ]
    for text in shown:
        assert not [value for value in plan.computed_values if value in text]
    assert "principalId=[unknown]" in shown[0]
    steps = json.loads(shown[3])["steps"]
    project = next(s for s in steps if s["urn"].endswith("mlplatform:project:Project::nlp-research"))
    assert project["op"] == "create" and "oldState" not in project
    assert (
        project["newState"]["parent"] == "urn:pulumi:prod::mlplatform::pulumi:pulumi:Stack::mlplatform-prod"
    )


def test_unknown_resource_types_are_diffed_conservatively_with_a_warning(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path)
    (tmp_path / "__main__.py").write_text(
        "from pulumi_azure_native import network\n"
        "network.VirtualNetwork('vnet', resource_group_name='rg', virtual_network_name=NAME, location='westeurope')\n"
    )
    sandbox.stack("dev", example_environment("dev"))
    main = (tmp_path / "__main__.py").read_text()
    (tmp_path / "__main__.py").write_text(main.replace("NAME", "'vnet-a'"))
    base = from_plan(sandbox.plan("dev"))
    (tmp_path / "__main__.py").write_text(main.replace("NAME", "'vnet-b'"))
    diff = diff_states(base, from_plan(sandbox.plan("dev")))
    assert [step.op for step in diff.changes] == ["replace"]
    assert diff.warnings == [
        "azure-native:network:VirtualNetwork is not in the force-new table (infra/plan/force_new.py): "
        "its names and location are assumed to force a replacement"
    ]


def test_a_resource_renamed_or_moved_with_an_alias_is_the_same_resource() -> None:
    import pulumi
    from pulumi_azure_native import resources

    from infra.plan.runtime import run_program

    def program(renamed: bool) -> Callable[[], None]:
        def run() -> None:
            name, aliases = ("box-renamed", [pulumi.Alias(name="box")]) if renamed else ("box", [])
            box = pulumi.ComponentResource(
                "mlplatform:test:Box", name, opts=pulumi.ResourceOptions(aliases=aliases)
            )
            group_aliases = [pulumi.Alias(name="rg")] if renamed else []
            resources.ResourceGroup(
                "rg-renamed" if renamed else "rg",
                resource_group_name="rg-data",
                location="westeurope",
                tags={"team": "b" if renamed else "a"},
                opts=pulumi.ResourceOptions(parent=box, protect=True, aliases=group_aliases),
            )
            resources.ResourceGroup(
                "logs",
                resource_group_name="rg-logs",
                location="westeurope",
                opts=pulumi.ResourceOptions(parent=box),
            )

        return run

    base, head = (
        from_plan(run_program(program(renamed), stack="dev", project="mlplatform", config={}))
        for renamed in (False, True)
    )
    diff = diff_states(base, head)
    assert diff.refusals == [] and diff.of("create") == [] and diff.of("delete") == []
    (update,) = diff.of("update")
    assert update.urn.endswith("ResourceGroup::rg-renamed") and [c.path for c in update.changes] == [
        "tags.team"
    ]
    assert {step.name for step in diff.of("same")} == {"box-renamed", "logs"}


def test_a_managed_network_cannot_go_back_to_a_less_isolated_mode(sandbox: Sandbox) -> None:
    environment = example_environment("prod")
    network = environment["network"]
    network["isolation_mode"] = "AllowInternetOutbound"
    network["outbound_rules"] = {k: v for k, v in network["outbound_rules"].items() if v["type"] != "FQDN"}
    diff, _, _ = changed(sandbox, "prod", lambda: sandbox.stack("prod", environment))
    assert diff.refusals == [
        "workspace mlw-mlp-prd-nlp-research (nlp-research-workspace): managed network isolation cannot go "
        "from AllowOnlyApprovedOutbound back to AllowInternetOutbound; Azure allows only Disabled -> "
        "AllowInternetOutbound -> AllowOnlyApprovedOutbound "
        "(learn.microsoft.com/azure/machine-learning/how-to-managed-network)"
    ]
    with pytest.raises(RefusedChangeError, match="mlw-mlp-prd-nlp-research") as refused:
        check_refusals(diff)
    assert "unprotect" not in str(refused.value)  # the advice for protected resources does not apply


@pytest.mark.parametrize(("before", "after", "refused"), [("Disabled", "AllowInternetOutbound", False),
                                                          ("AllowInternetOutbound", "Disabled", True)])  # fmt: skip
def test_dev_managed_network_moves_only_towards_isolation(
    sandbox: Sandbox, before: str, after: str, refused: bool
) -> None:
    environment = example_environment("dev")
    environment["registry"]["existing_public_network_access"] = True  # reachable without a managed network
    environment["network"]["isolation_mode"] = before
    sandbox.stack("dev", environment)
    environment["network"]["isolation_mode"] = after
    diff, _, _ = changed(sandbox, "dev", lambda: sandbox.stack("dev", environment))
    workspaces = [s for s in diff.of("update") if s.type == "azure-native:machinelearningservices:Workspace"]
    assert workspaces and all(
        any(c.path == "managedNetwork.isolationMode" for c in step.changes) for step in workspaces
    )
    assert bool(diff.refusals) is refused
    assert all(f"from {before} back to {after}" in refusal for refusal in diff.refusals)


def test_secrets_in_a_stack_export_are_not_claimed_as_changed(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path)
    (tmp_path / "__main__.py").write_text(SECRET_PROGRAM)
    sandbox.stack("dev", example_environment("dev"), **{"mlplatform:alertWebhook": {"secure": "v1:AAAA"}})
    plan = sandbox.plan("dev")
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(stack_export(json.loads(to_json(plan)))))
    base = read_state(exported)
    assert base.resources[plan.resources[0].urn].inputs["tags"]["webhook"] == "[secret]"
    assert diff_states(base, from_plan(plan)).empty
