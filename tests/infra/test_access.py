"""Role assignments: the exact set per project, isolation between projects, stable names, the
order Azure needs, and the privileged-role rule."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from pathlib import Path

import pytest
from azure.mgmt.core.tools import parse_resource_id

from infra.config import ConfigError, Layout, load_platform, validate_all
from infra.guardrails.command import recorded
from infra.guardrails.context import load_context
from infra.guardrails.rules import RULE_NAMES, STACK_RULES
from infra.plan.fake_ids import FAKE_SUBSCRIPTION
from infra.plan.offline import REPOSITORY
from infra.plan.render import render_text
from infra.plan.runtime import Plan, RecordedResource
from infra.plan.sections import plan_sections
from infra.policy.access import access_lines
from infra.roles import BUILTIN_ROLES, PRIVILEGED_ROLES
from tests.infra.sandbox import AS_OF, Sandbox, example_project

REFERENCE = json.loads((Path(__file__).parents[1] / "reference" / "azure_builtin_roles.json").read_text())
ROLE_GUIDS: dict[str, str] = REFERENCE["roles"]
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
SUB = f"/subscriptions/{FAKE_SUBSCRIPTION}"
RG = f"{SUB}/resourceGroups/rg-mlp-dev-nlp-research"
PROVIDERS = f"{RG}/providers"
WORKSPACE = f"{PROVIDERS}/Microsoft.MachineLearningServices/workspaces/mlw-mlp-dev-nlp-research"
STORAGE = f"{PROVIDERS}/Microsoft.Storage/storageAccounts/stmlpdevnlpresearche009"
VAULT = f"{PROVIDERS}/Microsoft.KeyVault/vaults/kvmlpdevnlpresearche009"
INSIGHTS = f"{PROVIDERS}/Microsoft.Insights/components/appi-mlp-dev-nlp-research"
WORKSPACE_IDENTITY = (
    f"{PROVIDERS}/Microsoft.ManagedIdentity/userAssignedIdentities/id-mlp-dev-nlp-research-workspace"
)
# dev uses the registry prod owns, in another subscription.
REGISTRY = (
    "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-mlp-prd-shared/providers/"
    "Microsoft.MachineLearningServices/registries/mlr-mlp-prd-0a71"
)
DATA_SCIENTISTS = "6f1c1a5e-0b5d-4d8e-9c9f-2a1f3b4c5d6e"
OPERATORS = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
READERS = "0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a"
DEPLOYER = "4c3b2a19-0f8e-4d7c-9b6a-5f4e3d2c1b0a"
ADA = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
MAAS_DATA_SCIENTISTS = "7e6d5c4b-3a29-4f18-8e07-d6c5b4a39281"  # maas-lab, dev only

# The naming scheme of role assignments, written out: uuid5 of scope | principal | role GUID in a
# fixed namespace (what ARM's guid() gives templates). Changing it renames, so replaces, every
# assignment of every stack: this must fail a test.
NAMESPACE = uuid.UUID("5b1c6e38-2f7a-5d0e-9c1b-6d3a0f4e8a21")

Row = tuple[
    str, str, str, str
]  # principal (object id, or the ARM id holding the identity), role, scope, type


def expected_name(row: Row) -> str:
    principal, role, scope, _ = row
    return str(uuid.uuid5(NAMESPACE, f"{scope.lower()}|{principal.lower()}|{ROLE_GUIDS[role]}"))


def check_rows(resources: Iterable[RecordedResource], expected: set[Row]) -> None:
    """The recorded assignments are exactly `expected`: names, scopes, roles, principal types."""
    by_name = {r.inputs["roleAssignmentName"]: r for r in resources}
    assert set(by_name) == {expected_name(row) for row in expected}, sorted(
        (row[1], row[2].rsplit("/", 1)[-1], row[0].rsplit("/", 1)[-1])
        for row in expected
        if expected_name(row) not in by_name
    )
    for row in expected:
        principal, role, scope, kind = row
        resource = by_name[expected_name(row)]
        assert resource.inputs["scope"] == scope
        assert resource.inputs["roleDefinitionId"] == (
            f"/subscriptions/{parse_resource_id(scope)['subscription']}/providers/"
            f"Microsoft.Authorization/roleDefinitions/{ROLE_GUIDS[role]}"
        )
        assert resource.inputs["principalType"] == kind
        if not principal.startswith("/"):
            assert resource.inputs["principalId"] == principal


def assignments_under(plan: Plan, component: str) -> list[RecordedResource]:
    parent = next(r.urn for r in plan.resources if r.name == component)
    return [r for r in plan.by_type(ROLE_ASSIGNMENT) if r.parent == parent]


def test_role_table_matches_microsofts_published_ids() -> None:
    assert {role: BUILTIN_ROLES[role] for role in ROLE_GUIDS if role in BUILTIN_ROLES} == {
        role: guid for role, guid in ROLE_GUIDS.items() if role in BUILTIN_ROLES
    }
    assert set(BUILTIN_ROLES) <= set(ROLE_GUIDS), "every role the platform grants has a reference entry"


def test_exact_role_assignments_of_a_project(dev_plan: Plan) -> None:
    a100, t4 = f"{WORKSPACE}/computes/a100", f"{WORKSPACE}/computes/t4-eval"
    expected: set[Row] = {
        (DATA_SCIENTISTS, "AzureML Data Scientist", WORKSPACE, "Group"),
        # Data roles on the project's group, not on the storage account: production locks the
        # account, and a lock blocks deleting role assignments below it (a person leaving a list,
        # a replaced cluster's old identity). The group holds only this project's storage.
        (DATA_SCIENTISTS, "Storage Blob Data Contributor", RG, "Group"),
        # notebooks live on the file share, which shared-key-off storage serves by identity only
        (DATA_SCIENTISTS, "Storage File Data Privileged Contributor", RG, "Group"),
        (OPERATORS, "AzureML Compute Operator", WORKSPACE, "Group"),
        (READERS, "Reader", RG, "Group"),
        (DEPLOYER, "AzureML Data Scientist", WORKSPACE, "ServicePrincipal"),
        # No AcrPull: the service grants a cluster identity AcrPull on the workspace registry itself.
        *(
            (cluster, role, scope, "ServicePrincipal")
            for cluster in (a100, t4)
            for role, scope in (
                ("Storage Blob Data Contributor", RG),
                ("Key Vault Secrets User", RG),  # a job reads its secrets (a gated model's token)
                ("AzureML Registry User", REGISTRY),
                ("Monitoring Metrics Publisher", INSIGHTS),  # local auth is off on the component
            )
        ),
        # Microsoft's table for a user-assigned workspace identity, on the project's own resources.
        *(
            (WORKSPACE_IDENTITY, role, scope, "ServicePrincipal")
            for role, scope in (
                ("Contributor", RG),
                ("Storage Blob Data Contributor", RG),
                ("Storage File Data Privileged Contributor", RG),
                ("Key Vault Administrator", RG),
                ("Monitoring Metrics Publisher", INSIGHTS),
                ("Azure AI Enterprise Network Connection Approver", REGISTRY),
            )
        ),
    }
    check_rows(assignments_under(dev_plan, "nlp-research-access"), expected)


def test_no_assignment_whose_holder_can_change_sits_below_a_lock(prod_plan: Plan) -> None:
    """A CanNotDelete lock blocks deleting role assignments at or below its scope, and identities
    or people change: none of the project's assignments may sit on a locked resource."""
    locked = {
        lock.inputs["scope"].lower()
        for lock in prod_plan.by_type("azure-native:authorization:ManagementLockByScope")
    }
    assert locked
    for assignment in prod_plan.by_type(ROLE_ASSIGNMENT):
        scope = assignment.inputs["scope"].lower()
        assert not any(scope == lock or scope.startswith(lock + "/") for lock in locked), assignment.urn
    for assignment in prod_plan.by_type(ROLE_ASSIGNMENT):
        if assignment.inputs["principalId"] not in (DATA_SCIENTISTS, OPERATORS, READERS, DEPLOYER):
            assert assignment.options.get("delete_before_replace") is True, assignment.urn


def test_people_on_the_shared_registry_get_one_assignment_each(dev_plan: Plan) -> None:
    check_rows(
        assignments_under(dev_plan, "environment-access"),
        {
            (DATA_SCIENTISTS, "AzureML Registry User", REGISTRY, "Group"),
            (DEPLOYER, "AzureML Registry User", REGISTRY, "ServicePrincipal"),
            (ADA, "AzureML Registry User", REGISTRY, "User"),
            (MAAS_DATA_SCIENTISTS, "AzureML Registry User", REGISTRY, "Group"),
        },
    )


def test_studio_behind_private_endpoints_reads_the_storage_endpoints(prod_plan: Plan) -> None:
    prod = f"{SUB}/resourceGroups/rg-mlp-prd-nlp-research/providers"
    identity = f"{prod}/Microsoft.ManagedIdentity/userAssignedIdentities/id-mlp-prd-nlp-research-workspace"
    endpoints = {
        (
            identity,
            "Reader",
            f"{prod}/Microsoft.Network/privateEndpoints/pe-stmlpprdnlpresearch93d5-{service}",
            "ServicePrincipal",
        )
        for service in ("blob", "file")
    }
    names = {r.inputs["roleAssignmentName"] for r in prod_plan.by_type(ROLE_ASSIGNMENT)}
    assert {expected_name(row) for row in endpoints} <= names
    check_rows(
        [
            r
            for r in prod_plan.by_type(ROLE_ASSIGNMENT)
            if r.inputs["roleAssignmentName"] in {expected_name(e) for e in endpoints}
        ],
        endpoints,
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_identity_or_person_of_one_project_holds_a_role_on_another_projects_resources(
    stack: str, request: pytest.FixtureRequest
) -> None:
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    groups = {r.physical_name for r in plan.by_type("azure-native:resources:ResourceGroup")}
    project_groups = {g for g in groups if not g.endswith("-shared")}
    for resource in plan.by_type(ROLE_ASSIGNMENT):
        scope = parse_resource_id(resource.inputs["scope"])
        project = resource.parent.split("::")[-1].removesuffix("-access")
        if resource.parent.endswith("EnvironmentAccess::environment-access"):
            assert scope["type"] == "registries"  # the one scope shared by design
            continue
        if (
            scope.get("type") == "registries"
            and scope.get("namespace") == "Microsoft.MachineLearningServices"
        ):
            continue
        assert scope["resource_group"] in project_groups
        assert scope["resource_group"] == f"rg-mlp-{'dev' if stack == 'dev' else 'prd'}-{project}", (
            resource.urn
        )
    # The guardrail that now owns this rule (infra/guardrails) agrees on the same plan.
    crossing = next(rule for rule in STACK_RULES if rule.name == "role-assignment-cross-project")
    context = load_context(REPOSITORY, stack, RULE_NAMES, as_of=AS_OF)
    assert list(crossing.check(recorded(plan), context)) == []


def test_assignments_on_another_stacks_registry_are_retained_not_deleted(
    dev_plan: Plan, prod_plan: Plan
) -> None:
    shared = assignments_under(dev_plan, "environment-access")
    assert len(shared) == 4 and all(r.options.get("retain_on_delete") for r in shared)
    # the project's own identities on that registry are its own: dropped with the project
    mine = assignments_under(dev_plan, "nlp-research-access")
    assert not any(r.options.get("retain_on_delete") for r in mine)
    # prod owns its registry: what it drops, it deletes.
    assert not any(r.options.get("retain_on_delete") for r in prod_plan.by_type(ROLE_ASSIGNMENT))


def test_assignment_names_are_stable_between_runs(dev_plan: Plan, sandbox: Sandbox) -> None:
    again = sandbox.plan("dev")
    first = {r.name: r.inputs for r in dev_plan.by_type(ROLE_ASSIGNMENT)}
    second = {r.name: r.inputs for r in again.by_type(ROLE_ASSIGNMENT)}
    assert first == second
    # maas-lab (no clusters) adds 10: its group's 3 in the project and 1 on the registry, and
    # its workspace identity's 6
    assert len(first) == 46


def test_the_workspace_waits_for_its_identity_to_hold_its_roles(dev_plan: Plan, prod_plan: Plan) -> None:
    """A user-assigned primary identity needs its roles before the workspace is created."""
    for plan, group in ((dev_plan, "rg-mlp-dev-nlp-research"), (prod_plan, "rg-mlp-prd-nlp-research")):
        workspace = plan.get("azure-native:machinelearningservices:Workspace", "nlp-research-workspace")
        identity = workspace.inputs["primaryUserAssignedIdentity"]
        assert parse_resource_id(identity)["resource_group"] == group
        before = {
            r.urn
            for r in plan.by_type(ROLE_ASSIGNMENT)
            if r.inputs["roleAssignmentName"]
            in {
                expected_name((identity, role, scope, "ServicePrincipal"))
                for role in (
                    "Contributor",
                    "Key Vault Administrator",
                    "Storage Blob Data Contributor",
                    "Storage File Data Privileged Contributor",
                )
                for scope in (f"{SUB}/resourceGroups/{group}",)
            }
        }
        assert len(before) == 4
        assert before <= set(workspace.dependencies)


def test_a_principal_in_two_lists_or_projects_gets_one_assignment(sandbox: Sandbox) -> None:
    vision = example_project("vision-lab")
    group = {"object_id": DATA_SCIENTISTS, "kind": "Group", "name": "shared-group"}
    vision["access"]["data_scientists"].append(group)
    vision["access"]["ci_deployers"] = [group]
    sandbox.project("vision-lab.yaml", vision)
    plan = sandbox.plan("dev")
    registry = [
        r
        for r in plan.by_type(ROLE_ASSIGNMENT)
        if r.inputs["principalId"] == DATA_SCIENTISTS and r.inputs["scope"] == REGISTRY
    ]
    assert len(registry) == 1
    assert (
        "vision-lab" in registry[0].inputs["description"]
        and "nlp-research" in registry[0].inputs["description"]
    )
    names = [r.inputs["roleAssignmentName"] for r in plan.by_type(ROLE_ASSIGNMENT)]
    assert len(names) == len(set(names))


def test_access_table_gives_each_project_only_its_own_reasons(sandbox: Sandbox) -> None:
    """Shared (registry) grants are listed under every project whose lists name the principal,
    each with that project's reasons only, also when one project's name prefixes another's."""
    group = {"object_id": DATA_SCIENTISTS, "kind": "Group", "name": "shared-group"}
    nlp = example_project("nlp-research")
    nlp["name"] = "nlp"
    nlp["access"] = {"ci_deployers": [group]}
    sandbox.project("nlp.yaml", nlp)
    lines = access_lines(sandbox.model("dev"))

    def section(project: str) -> list[str]:
        start = lines.index(f"{project}:") + 1
        end = next((i for i in range(start, len(lines)) if not lines[i].startswith("  ")), len(lines))
        return [line for line in lines[start:end] if DATA_SCIENTISTS in line]

    assert section("nlp") and all("ci_deployers" in line for line in section("nlp"))
    assert not any("data_scientists" in line for line in section("nlp"))
    assert any("data_scientists" in line for line in section("nlp-research"))
    assert not any("ci_deployers" in line for line in section("nlp-research"))


# --- privileged roles -------------------------------------------------------------------------

OWNER_GROUP = {
    "object_id": "11111111-aaaa-4bbb-8ccc-000000000001",
    "kind": "Group",
    "name": "sg-vision-admins",
}


@pytest.mark.parametrize("role", sorted(PRIVILEGED_ROLES))
def test_privileged_roles_are_refused_naming_file_and_field(sandbox: Sandbox, role: str) -> None:
    vision = example_project("vision-lab")
    vision["access"]["extra_roles"] = {role: [OWNER_GROUP]}
    sandbox.project("vision-lab.yaml", vision)
    issues = [i for i in validate_all(Layout(sandbox.root)) if i.file == "stacks/projects/vision-lab.yaml"]
    assert [i.path for i in issues] == [f"access.extra_roles.{role}[0].object_id"]
    assert "privileged role" in issues[0].message and "role_exceptions" in issues[0].message
    with pytest.raises(ConfigError):
        load_platform(Layout(sandbox.root), "dev")


def test_privileged_role_with_an_exception_is_granted_and_listed(sandbox: Sandbox) -> None:
    from tests.infra.sandbox import example_environment

    vision = example_project("vision-lab")
    vision["access"]["extra_roles"] = {
        "Contributor": [OWNER_GROUP],
        "Storage Blob Data Reader": [OWNER_GROUP],
    }
    sandbox.project("vision-lab.yaml", vision)
    environment = example_environment("dev")
    environment["role_exceptions"] = [
        {
            "project": "vision-lab",
            "object_id": OWNER_GROUP["object_id"].upper(),
            "role": "Contributor",
            "reason": "Vision admins manage their own experimental services (ticket SEC-42)",
        }
    ]
    sandbox.stack("dev", environment)
    plan = sandbox.plan("dev")
    granted = {
        (r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs["scope"])
        for r in plan.by_type(ROLE_ASSIGNMENT)
        if r.inputs["principalId"] == OWNER_GROUP["object_id"]
    }
    group = f"{SUB}/resourceGroups/rg-mlp-dev-vision-lab"
    people = {g for g in granted if g[1] == group}
    assert people == {(ROLE_GUIDS["Contributor"], group), (ROLE_GUIDS["Storage Blob Data Reader"], group)}
    sections = {s.title: s.lines for s in plan_sections(sandbox.model("dev"))}
    (line,) = sections["Privileged role exceptions"]
    assert line.startswith("vision-lab: Contributor for sg-vision-admins (Group)") and "SEC-42" in line
    assert "Privileged role exceptions:" in render_text(plan, plan_sections(sandbox.model("dev")))


def test_exceptions_are_only_for_privileged_and_known_roles(sandbox: Sandbox) -> None:
    from tests.infra.sandbox import example_environment

    environment = example_environment("dev")
    base = {"project": "vision-lab", "object_id": OWNER_GROUP["object_id"], "reason": "long enough reason"}
    environment["role_exceptions"] = [{**base, "role": "Reader"}, {**base, "role": "Ownr"}]
    sandbox.stack("dev", environment)
    issues = {i.path: i.message for i in validate_all(Layout(sandbox.root))}
    field = "config.mlplatform:environment.role_exceptions"
    assert "not a privileged role" in issues[f"{field}[0].role"]
    assert "unknown role 'Ownr'" in issues[f"{field}[1].role"]


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        (
            lambda a: a["data_scientists"][0].update(object_id="not-a-guid"),
            "access.data_scientists[0].object_id",
            "GUID",
        ),
        (
            lambda a: a["data_scientists"][0].update(kind="Robot"),
            "access.data_scientists[0].kind",
            "'User', 'Group' or 'ServicePrincipal'",
        ),
        (
            lambda a: a.update(extra_roles={"Data Wizard": [OWNER_GROUP]}),
            "access.extra_roles",
            "unknown role 'Data Wizard'",
        ),
        (lambda a: a.update(admins=[OWNER_GROUP]), "access.admins", "unknown key"),
        (
            lambda a: a.update(readers=[{**a["data_scientists"][0], "kind": "Group"}]),
            "access",
            "different kinds",
        ),
    ],
    ids=["object-id-not-guid", "unknown-kind", "unknown-role", "typo-in-key", "one-object-two-kinds"],
)
def test_access_mistakes_name_file_and_field(
    sandbox: Sandbox, change: object, path: str, fragment: str
) -> None:
    vision = example_project("vision-lab")
    change(vision["access"])  # type: ignore[operator]
    sandbox.project("vision-lab.yaml", vision)
    issues = [i for i in validate_all(Layout(sandbox.root)) if i.file == "stacks/projects/vision-lab.yaml"]
    assert [i.path for i in issues] == [path], issues
    assert fragment in issues[0].message


def test_a_scope_outside_a_subscription_has_no_role_definition_id() -> None:
    from infra.roles import role_definition_id

    with pytest.raises(
        ValueError,
        match=r"'/providers/Microsoft\.Management/managementGroups/mg' is not a subscription-level scope",
    ):
        role_definition_id("Reader", "/providers/Microsoft.Management/managementGroups/mg")


def test_an_assignment_to_a_principal_without_a_name_says_whose_list_it_is(sandbox: Sandbox) -> None:
    project = example_project("nlp-research")
    project["access"]["readers"] = [{"object_id": "0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a", "kind": "Group"}]
    sandbox.project("nlp-research.yaml", project)
    descriptions = {
        r.inputs["description"]
        for r in sandbox.plan("dev").by_type(ROLE_ASSIGNMENT)
        if r.inputs["principalId"] == "0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a"
    }
    assert descriptions == {"mlplatform: nlp-research readers"}
