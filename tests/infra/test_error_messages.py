"""What a platform team reads when a file is wrong: the whole message of each kind of mistake,
against a reviewed copy (tests/infra/expected/errors.txt).

The other tests check that each mistake is found and where; this one pins the words, which are
the product for the person who made the mistake: the file, the field, the numbers, and what to do.
After an intended change, rewrite the copy with `make expected` and review the diff.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from infra.config import Layout, validate_all
from tests.infra.sandbox import AS_OF, Sandbox, example_environment, example_project

EXPECTED_FILE = "errors.txt"
T4 = "standardNCASv3_T4Family"
A100 = "StandardNCADSA100v4Family"
ADMINS = {"object_id": "11111111-aaaa-4bbb-8ccc-000000000001", "kind": "Group", "name": "sg-vision-admins"}
STORAGE_ID = (
    "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg/providers/"
    "Microsoft.Storage/storageAccounts/stdata"
)
Edit = Callable[[Sandbox], None]


def environment(stack: str, change: Callable[[dict[str, Any]], None]) -> Edit:
    def edit(sandbox: Sandbox) -> None:
        document = example_environment(stack)
        change(document)
        sandbox.stack(stack, document)

    return edit


def project(name: str, change: Callable[[dict[str, Any]], None]) -> Edit:
    def edit(sandbox: Sandbox) -> None:
        document = example_project(name)
        change(document)
        sandbox.project(f"{name}.yaml", document)

    return edit


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return change


def _outbound_without_managed_network(document: dict[str, Any]) -> None:
    document["network"]["isolation_mode"] = "Disabled"
    document["registry"]["existing_public_network_access"] = True
    document["network"]["outbound_rules"] = {
        "data": {"type": "PrivateEndpoint", "service_resource_id": STORAGE_ID, "subresource_target": "blob"}
    }


OTHER = {"object_id": "33333333-cccc-4ddd-8eee-000000000003", "kind": "Group", "name": "sg-vision-ops"}
EXCEPTION = {
    "project": "vision-lab",
    "object_id": ADMINS["object_id"],
    "role": "Contributor",
    "reason": "vision admins run their own services (SEC-42)",
}


def no_projects(sandbox: Sandbox) -> None:
    for path in (sandbox.root / "stacks" / "projects").glob("*.yaml"):
        sandbox.remove_project(path.name)


def both(*edits: Edit) -> Edit:
    def edit(sandbox: Sandbox) -> None:
        for one in edits:
            one(sandbox)

    return edit


CASES: dict[str, Edit] = {
    "quota exceeded": environment("dev", _set("gpu_quota", {T4: 32, A100: 48})),
    "quota exceeded by a project": project(
        "vision-lab", _set("environments.dev.clusters.t4-spot.max_nodes", 12)
    ),
    "family without quota": environment("dev", _set("gpu_quota", {T4: 64, "standardNDSH100v5Family": 96})),
    "no quota at all": environment("dev", _set("gpu_quota", {})),
    "unknown quota families": environment(
        "dev", _set("gpu_quota", {T4: 160, "StandardNCFooFamily": 8, "StandardNCBarFamily": 8})
    ),
    "region without quota": both(
        environment("dev", _set("gpu_quota_by_region", {"westus3": {T4: 16}})),
        project("nlp-research", _set("location", "northeurope")),
    ),
    "region outside the registry's": project("nlp-research", _set("location", "eastus")),
    "region typo": project("vision-lab", _set("location", "westeurop")),
    "region display name": project("vision-lab", _set("location", "West Europe")),
    "region nothing resembles": project("vision-lab", _set("location", "moon-base-1")),
    # another stack's registry whose regions are not recorded: each project is checked, not only
    # those before the first one in the environment's own region
    "region of a registry with unrecorded regions": both(
        environment("dev", lambda e: e["registry"].pop("existing_regions")),
        project("maas-lab", _set("location", "westeurope")),
        project("vision-lab", _set("location", "northeurope")),
    ),
    "privileged role": project("vision-lab", _set("access.extra_roles", {"Owner": [ADMINS]})),
    "privileged role after an ordinary one": project(
        "vision-lab", _set("access.extra_roles", {"Storage Blob Data Reader": [ADMINS], "Owner": [ADMINS]})
    ),
    "unknown role": project("vision-lab", _set("access.extra_roles", {"Data Wizard": [ADMINS]})),
    "exception for a role that needs none": environment(
        "dev",
        _set(
            "role_exceptions",
            [
                {
                    "project": "vision-lab",
                    "object_id": ADMINS["object_id"],
                    "role": "Reader",
                    "reason": "read-only access for audits (SEC-9)",
                }
            ],
        ),
    ),
    # an exception is for one project, one principal and one role
    "privileged role excepted for another project": both(
        environment("dev", _set("role_exceptions", [EXCEPTION])),
        project("vision-lab", _set("access.extra_roles", {"Contributor": [ADMINS]})),
        project("nlp-research", _set("access.extra_roles", {"Contributor": [ADMINS]})),
    ),
    "privileged role excepted for another principal": both(
        environment("dev", _set("role_exceptions", [EXCEPTION])),
        project("vision-lab", _set("access.extra_roles", {"Contributor": [ADMINS, OTHER]})),
    ),
    "privileged role excepted for another role": both(
        environment("dev", _set("role_exceptions", [EXCEPTION])),
        project("vision-lab", _set("access.extra_roles", {"Owner": [ADMINS]})),
    ),
    "no path to a private registry": environment("dev", _set("network.isolation_mode", "Disabled")),
    "outbound rules without a managed network": environment("dev", _outbound_without_managed_network),
    "exfiltration service tag in production": environment(
        "prod",
        lambda e: e["network"]["outbound_rules"].update(
            broad={"type": "ServiceTag", "service_tag": "Storage", "protocol": "TCP", "port_ranges": "443"}
        ),
    ),
    "budget start before this month": project(
        "nlp-research", _set("environments.prod.budget.start_date", "2026-11-01")
    ),
    # a project without a budget before one with a bad start date: the later one is still checked
    "budget start after a project without a budget": both(
        project("maas-lab", lambda p: p.pop("budget")),
        project("nlp-research", _set("budget.start_date", "2026-11-01")),
    ),
    "exception for a project that does not exist": environment(
        "dev", _set("role_exceptions", [{**EXCEPTION, "project": "vision-labs"}])
    ),
    "exception in an environment with no projects": both(
        no_projects, environment("dev", _set("role_exceptions", [EXCEPTION]))
    ),
    "reserved tags in another case": project("vision-lab", _set("tags", {"Owner": "x", "Project": "y"})),
    "a reserved tag": project("vision-lab", _set("tags", {"owner": "x"})),
    "a tag twice in different case": project("vision-lab", _set("tags", {"Team": "a", "team": "b"})),
    "a tag name Azure refuses": project("vision-lab", _set("tags", {"cost/centre": "x"})),
    "a tag value over 256 characters": project("vision-lab", _set("tags", {"note": "n" * 257})),
    "two tags twice in different case": project(
        "vision-lab", _set("tags", {"Team": "a", "team": "b", "Area": "c", "AREA": "d"})
    ),
    "object id that is not a GUID": project(
        "vision-lab", lambda p: p["access"]["data_scientists"][0].update(object_id="ada@contoso.com")
    ),
    "nil object id": project(
        "vision-lab",
        lambda p: p["access"]["data_scientists"][0].update(object_id="00000000-0000-0000-0000-000000000000"),
    ),
    "budget threshold out of range": project("nlp-research", _set("budget.thresholds", [80, 1001])),
    "cluster idle time too short": project("vision-lab", _set("clusters.t4-spot.idle_minutes", 1)),
    "cluster name azure refuses": project(
        "vision-lab", lambda p: p["clusters"].update({"x": p["clusters"].pop("t4-spot")})
    ),
}


def messages(case: str, edit: Edit, sandbox: Sandbox, as_of: date = AS_OF) -> str:
    edit(sandbox)
    found = validate_all(Layout(sandbox.root), as_of=as_of)
    assert found, f"{case}: no problem found"
    return "\n".join([f"## {case}", *(str(issue) for issue in found), ""])


def test_each_mistake_reads_as_reviewed(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> None:
    from infra.plan.offline import REPOSITORY

    text = "\n".join(
        messages(case, edit, Sandbox.from_examples(tmp_path_factory.mktemp("case")))
        for case, edit in CASES.items()
    )
    expected_file = REPOSITORY / "tests" / "infra" / "expected" / EXPECTED_FILE
    if request.config.getoption("--update-expected"):
        expected_file.write_text(text)
    changed = "".join(
        difflib.unified_diff(
            expected_file.read_text().splitlines(True), text.splitlines(True), str(expected_file), "now"
        )
    )
    assert not changed, f"messages changed; if intended, run `make expected` and review the diff:\n{changed}"
