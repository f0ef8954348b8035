"""Role assignments: the exact set per project, stable names, and the privileged-role rule."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from infra.config import ConfigError, Layout, load_platform, validate_all
from infra.plan.fake_ids import FAKE_SUBSCRIPTION, fake_uuid
from infra.plan.offline import REPOSITORY
from infra.plan.render import render_text
from infra.plan.runtime import Plan, RecordedResource
from infra.plan.sections import plan_sections
from infra.policy.access import access_lines, environment_grants, project_grants
from infra.roles import BUILTIN_ROLES, PRIVILEGED_ROLES, assignment_name, role_definition_id, subscription_of
from tests.infra.sandbox import Sandbox, example_project

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
SUB = f"/subscriptions/{FAKE_SUBSCRIPTION}"
RG = f"{SUB}/resourceGroups/rg-mlp-dev-nlp-research"
SHARED = f"{SUB}/resourceGroups/rg-mlp-dev-shared/providers"
WORKSPACE = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw-mlp-dev-nlp-research"
STORAGE = f"{RG}/providers/Microsoft.Storage/storageAccounts/stmlpdevnlpresearche009"
ACR = f"{SHARED}/Microsoft.ContainerRegistry/registries/crmlpdevae6c"
VAULT = f"{SHARED}/Microsoft.KeyVault/vaults/kv-mlp-dev-24f7"
PLATFORM_ID = f"{SHARED}/Microsoft.ManagedIdentity/userAssignedIdentities/id-mlp-dev-platform"
# dev uses the registry prod owns, in another subscription.
REGISTRY = (
    "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-mlp-prd-shared/providers/"
    "Microsoft.MachineLearningServices/registries/mlr-mlp-prd-0a71"
)
DATA_SCIENTISTS = "6f1c1a5e-0b5d-4d8e-9c9f-2a1f3b4c5d6e"
OPERATORS = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
READERS = "0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a"
DEPLOYER = "4c3b2a19-0f8e-4d7c-9b6a-5f4e3d2c1b0a"


def identity(holder_id: str) -> str:
    """The principal id the offline plan gives the managed identity of a resource."""
    return fake_uuid("principal", holder_id)


Row = tuple[str, str, str, str]  # principal id, role, scope, principal type


def rows(resources: Iterable[RecordedResource]) -> set[Row]:
    found = set()
    for resource in resources:
        guid = resource.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        role = {v: k for k, v in BUILTIN_ROLES.items()}[guid]
        found.add(
            (resource.inputs["principalId"], role, resource.inputs["scope"], resource.inputs["principalType"])
        )
    return found


def assignments_under(plan: Plan, component: str) -> list[RecordedResource]:
    parent = next(r.urn for r in plan.resources if r.name == component)
    return [r for r in plan.by_type(ROLE_ASSIGNMENT) if r.parent == parent]


def test_exact_role_assignments_of_a_project(dev_plan: Plan) -> None:
    a100, t4 = f"{WORKSPACE}/computes/a100", f"{WORKSPACE}/computes/t4"
    expected: set[Row] = {
        (DATA_SCIENTISTS, "AzureML Data Scientist", WORKSPACE, "Group"),
        (DATA_SCIENTISTS, "Storage Blob Data Contributor", STORAGE, "Group"),
        (OPERATORS, "AzureML Compute Operator", WORKSPACE, "Group"),
        (READERS, "Reader", RG, "Group"),
        (DEPLOYER, "AzureML Data Scientist", WORKSPACE, "ServicePrincipal"),
        *(
            (identity(cluster), role, scope, "ServicePrincipal")
            for cluster in (a100, t4)
            for role, scope in (
                ("AcrPull", ACR),
                ("Storage Blob Data Contributor", STORAGE),
                ("AzureML Registry User", REGISTRY),
            )
        ),
        *(
            (identity(WORKSPACE), role, scope, "ServicePrincipal")
            for role, scope in (
                ("Storage Blob Data Contributor", STORAGE),
                ("Storage File Data Privileged Contributor", STORAGE),
                ("Key Vault Administrator", VAULT),
                ("Contributor", ACR),
            )
        ),
        (identity(PLATFORM_ID), "Storage Blob Data Contributor", STORAGE, "ServicePrincipal"),
        (identity(PLATFORM_ID), "Storage File Data Privileged Contributor", STORAGE, "ServicePrincipal"),
    }
    assert rows(assignments_under(dev_plan, "nlp-research-access")) == expected


def test_environment_wide_assignments_registry_and_platform_identity(dev_plan: Plan) -> None:
    assert rows(assignments_under(dev_plan, "environment-access")) == {
        (DATA_SCIENTISTS, "AzureML Registry User", REGISTRY, "Group"),
        (DEPLOYER, "AzureML Registry User", REGISTRY, "ServicePrincipal"),
        ("1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "AzureML Registry User", REGISTRY, "User"),
        (identity(PLATFORM_ID), "Key Vault Administrator", VAULT, "ServicePrincipal"),
        (identity(PLATFORM_ID), "Contributor", ACR, "ServicePrincipal"),
    }


def test_assignments_on_another_stacks_registry_are_retained_not_deleted(
    dev_plan: Plan, prod_plan: Plan
) -> None:
    shared = assignments_under(dev_plan, "environment-access")
    people = [r for r in shared if r.inputs["scope"] == REGISTRY]
    assert len(people) == 3 and all(r.options.get("retain_on_delete") for r in people)
    assert not any(r.options.get("retain_on_delete") for r in shared if r not in people)
    # prod owns its registry: what it drops, it deletes.
    assert not any(r.options.get("retain_on_delete") for r in prod_plan.by_type(ROLE_ASSIGNMENT))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_names_and_scopes_are_derived_from_plan_time_values(
    stack: str, request: pytest.FixtureRequest
) -> None:
    """The name is derived from the ARM ids the names give; the scope the resource gets is the
    real output. Both must be the same string, or the name would not mean what it says."""
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    platform = load_platform(Layout(REPOSITORY), stack)
    grants = environment_grants(platform.environment, platform.projects, FAKE_SUBSCRIPTION)
    for project in platform.projects:
        grants += project_grants(platform.environment, project, FAKE_SUBSCRIPTION)
    by_name = {grant.name: grant for grant in grants}
    recorded = plan.by_type(ROLE_ASSIGNMENT)
    assert len(by_name) == len(grants) == len(recorded)
    for resource in recorded:
        grant = by_name[resource.inputs["roleAssignmentName"]]
        assert resource.inputs["scope"] == grant.scope
        expected_principal = grant.principal if grant.holder is None else identity(grant.principal)
        assert resource.inputs["principalId"] == expected_principal
        assert resource.inputs["principalType"] in ("User", "Group", "ServicePrincipal")
        definition = resource.inputs["roleDefinitionId"]
        assert definition == role_definition_id(grant.role, resource.inputs["scope"])
        assert definition.startswith(f"/subscriptions/{subscription_of(resource.inputs['scope'])}/providers/")
        assert resource.inputs["roleAssignmentName"] == assignment_name(
            resource.inputs["scope"], grant.principal, grant.role
        )


def test_assignment_names_are_stable_between_runs(dev_plan: Plan, sandbox: Sandbox) -> None:
    again = sandbox.plan("dev")
    first = {r.name: r.inputs for r in dev_plan.by_type(ROLE_ASSIGNMENT)}
    second = {r.name: r.inputs for r in again.by_type(ROLE_ASSIGNMENT)}
    assert first == second
    assert len(first) == 33


def test_assignment_name_changes_with_each_of_scope_principal_and_role() -> None:
    base = assignment_name(WORKSPACE, DATA_SCIENTISTS, "Reader")
    assert base == assignment_name(
        WORKSPACE.upper(), DATA_SCIENTISTS.upper(), "Reader"
    )  # ARM ids ignore case
    others = {
        assignment_name(STORAGE, DATA_SCIENTISTS, "Reader"),
        assignment_name(WORKSPACE, OPERATORS, "Reader"),
        assignment_name(WORKSPACE, DATA_SCIENTISTS, "AzureML Data Scientist"),
    }
    assert base not in others and len(others) == 3


def test_workspace_waits_for_its_user_assigned_identity_to_reach_storage_vault_and_registry(
    dev_plan: Plan,
) -> None:
    workspace = dev_plan.get("azure-native:machinelearningservices:Workspace", "nlp-research-workspace")
    needed = {
        r.urn
        for r in dev_plan.by_type(ROLE_ASSIGNMENT)
        if r.inputs["principalId"] == identity(PLATFORM_ID)
        and (r.inputs["scope"] in (ACR, VAULT) or r.inputs["scope"] == STORAGE)
    }
    assert len(needed) == 4
    assert needed <= set(workspace.dependencies)


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
    platform = load_platform(Layout(sandbox.root), "dev")
    lines = access_lines(platform.environment, platform.projects)

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
    assert granted == {
        (BUILTIN_ROLES["Contributor"], group),
        (BUILTIN_ROLES["Storage Blob Data Reader"], group),
    }
    sections = {s.title: s.lines for s in plan_sections(load_platform(Layout(sandbox.root), "dev"))}
    (line,) = sections["Privileged role exceptions"]
    assert line.startswith("vision-lab: Contributor for sg-vision-admins (Group)") and "SEC-42" in line
    assert "Privileged role exceptions:" in render_text(
        plan, plan_sections(load_platform(Layout(sandbox.root), "dev"))
    )


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
