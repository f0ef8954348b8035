"""`python -m infra onboard`: a new project file that is valid as written; and the mistakes a
team can make while editing it, each named by file and field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra import naming
from infra.cli import main
from infra.config import ConfigError, Layout, validate_all
from infra.onboard import onboard
from tests.infra.sandbox import Sandbox, example_project


def test_scaffold_is_valid_as_written_and_plans(sandbox: Sandbox) -> None:
    layout = Layout(sandbox.root)
    path = onboard(layout, "speech-lab", owner="speech-lead@contoso.com", cost_center="CC-7")
    assert path == sandbox.root / "stacks" / "projects" / "speech-lab.yaml"
    text = path.read_text()
    # no start date: the budget starts in the month it is created (a written date would go stale)
    assert "\n  start_date:" not in text and "environments:\n  dev: {}\n  prod: {}" in text
    assert text.count("#") > 20, "the file documents itself"
    assert validate_all(layout) == []
    plan = sandbox.plan("dev")
    assert plan.get(
        "azure-native:machinelearningservices:Workspace", "speech-lab-workspace"
    ).physical_name == ("mlw-mlp-dev-speech-lab")
    budget = plan.get("azure-native:consumption:Budget", "speech-lab-budget").inputs
    assert budget["amount"] == 1000
    assert budget["timePeriod"]["startDate"] == "2026-12-01T00:00:00Z"  # the tests' plan date
    computes = plan.by_type("azure-native:machinelearningservices:Compute")
    assert computes and not [r for r in computes if r.name.startswith("speech-lab")]  # no quota used


def test_cli_writes_only_the_environments_asked_for(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--root",
            str(sandbox.root),
            "onboard",
            "speech-lab",
            "--owner",
            "a@contoso.com",
            "--environments",
            "dev",
            "--budget",
            "300",
        ]
    )
    assert code == 0
    assert "Wrote stacks/projects/speech-lab.yaml" in capsys.readouterr().out
    text = (sandbox.root / "stacks" / "projects" / "speech-lab.yaml").read_text()
    assert "environments:\n  dev: {}\n" in text and "prod:" not in text.split("environments:")[1]
    assert "monthly_amount: 300" in text
    assert validate_all(Layout(sandbox.root)) == []


@pytest.mark.parametrize(
    ("name", "options", "path", "fragment"),
    [
        ("Speech_Lab", {}, "name", naming.PROJECT_RULE),
        ("nlp-research", {}, "", "exists already; refusing to overwrite"),
        ("speech-lab", {"environments": ["qa"]}, "environments", "no such environment qa; known: dev, prod"),
        ("speech-lab", {"owner": "speech"}, "owner", "not an email address"),
        # 24 characters fit the project rule, but not the workspace name.
        ("speech-recognition-labs1", {}, "name", "shorten the project name"),
    ],
    ids=["invalid-name", "existing-file", "unknown-environment", "bad-owner", "derived-name-too-long"],
)
def test_onboard_refuses(
    sandbox: Sandbox, name: str, options: dict[str, Any], path: str, fragment: str
) -> None:
    before = sorted(p.name for p in (sandbox.root / "stacks" / "projects").iterdir())
    before_text = (sandbox.root / "stacks" / "projects" / "nlp-research.yaml").read_text()
    with pytest.raises(ConfigError) as caught:
        onboard(Layout(sandbox.root), name, **{"owner": "a@contoso.com", "cost_center": "CC", **options})
    issue = caught.value.issues[0]
    assert issue.file == f"stacks/projects/{name}.yaml" and issue.path == path
    assert fragment in issue.message
    assert sorted(p.name for p in (sandbox.root / "stacks" / "projects").iterdir()) == before
    assert (sandbox.root / "stacks" / "projects" / "nlp-research.yaml").read_text() == before_text


def test_onboard_refuses_a_name_another_file_declares(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.project("legacy.yaml", {**example_project("vision-lab"), "name": "speech-lab"})
    assert main(["--root", str(sandbox.root), "onboard", "speech-lab", "--owner", "a@contoso.com"]) == 2
    assert (
        "project name 'speech-lab' is already used by stacks/projects/legacy.yaml" in capsys.readouterr().err
    )


# --- mistakes while editing a project file ----------------------------------------------------


def _cluster(p: dict[str, Any]) -> dict[str, Any]:
    cluster: dict[str, Any] = p["clusters"]["t4-spot"]
    return cluster


MISTAKES = [
    (
        "object-id-not-guid",
        lambda p: p["access"]["data_scientists"][0].update(object_id="ada"),
        "access.data_scientists[0].object_id",
    ),
    (
        "unknown-kind",
        lambda p: p["access"]["data_scientists"][0].update(kind="Person"),
        "access.data_scientists[0].kind",
    ),
    ("unknown-role", lambda p: p["access"].update(extra_roles={"Superuser": []}), "access.extra_roles"),
    (
        "vm-size-not-in-table",
        lambda p: _cluster(p).update(vm_size="Standard_D4s_v5"),
        "clusters.t4-spot.vm_size",
    ),
    ("max-below-min", lambda p: _cluster(p).update(min_nodes=3), "clusters.t4-spot"),
    ("typo-in-key", lambda p: _cluster(p).update(max_node=2), "clusters.t4-spot.max_node"),
    ("typo-in-top-level-key", lambda p: p.update(budjet={}), "budjet"),
    ("quota-exceeded", lambda p: _cluster(p).update(max_nodes=10), "clusters.t4-spot.max_nodes"),
]


@pytest.mark.parametrize(("change", "path"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_each_mistake_fails_naming_file_and_field(sandbox: Sandbox, change: Any, path: str) -> None:
    vision = example_project("vision-lab")
    change(vision)
    sandbox.project("vision-lab.yaml", vision)
    found = [i for i in validate_all(Layout(sandbox.root)) if i.file == "stacks/projects/vision-lab.yaml"]
    assert [i.path for i in found] == [path], found
    assert found[0].message


def test_every_mistake_in_every_file_is_reported_at_once(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    vision = example_project("vision-lab")
    for _, change, _ in MISTAKES[:4]:
        change(vision)
    sandbox.project("vision-lab.yaml", vision)
    nlp = example_project("nlp-research")
    nlp["access"]["extra_roles"] = {
        "Owner": [{"object_id": "11111111-1111-4111-8111-111111111111", "kind": "User"}]
    }
    sandbox.project("nlp-research.yaml", nlp)
    assert main(["--root", str(sandbox.root), "validate"]) == 2
    err = capsys.readouterr().err
    for path in [m[2] for m in MISTAKES[:4]]:
        assert re.search(rf"stacks/projects/vision-lab.yaml:\d+: {re.escape(path)}:", err), path
    assert re.search(r"stacks/projects/nlp-research.yaml:\d+: access.extra_roles.Owner\[0\].object_id:", err)


def test_derived_names_that_collide_are_refused_in_both_files(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashing the full identity makes truncation collisions impossible by construction; the
    loader still checks every derived name, as a safety net, and names both files."""
    monkeypatch.setattr(naming.ProjectNames, "storage_account", property(lambda self: "stsamename0000"))
    found = {(i.file, i.path): i.message for i in validate_all(Layout(sandbox.root))}
    for file in ("stacks/projects/nlp-research.yaml", "stacks/projects/vision-lab.yaml"):
        message = found[(file, "name")]
        assert "storage account name 'stsamename0000' is derived for both" in message


def test_truncated_names_differ_by_construction() -> None:
    env = naming.EnvironmentNames("mlp", "dev")
    a = env.project("speech-recognition-aaaa").storage_account
    b = env.project("speech-recognition-aaab").storage_account
    assert a[:-4] == b[:-4] and a != b
