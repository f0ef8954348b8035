"""`python -m infra policy` and the guardrails in `python -m infra plan`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cli import main
from infra.guardrails.runner import POLICY_FAILED
from infra.plan.offline import plan_stack
from infra.plan.render import to_json
from tests.infra.sandbox import AS_OF, Sandbox, example_environment


@pytest.fixture(scope="module")
def prod_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plans") / "prod.json"
    path.write_text(to_json(plan_stack("prod", as_of=AS_OF)))
    return path


def test_a_saved_plan_of_an_example_stack_passes(prod_json: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--plan", str(prod_json), "--as-of", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    assert "Guardrails for stack 'prod'" in out and "0 mandatory, 1 advisory" in out
    assert (
        "Worst-case monthly cluster cost:" in out and "nlp-research: 26,791 against a budget of 15,000" in out
    )


def test_a_saved_plan_that_breaks_a_rule_fails_grouped_by_resource(
    prod_json: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(prod_json.read_text())
    for resource in document["resources"]:
        if resource["type"] == "azure-native:storage:StorageAccount":
            resource["inputs"]["allowSharedKeyAccess"] = True
            resource["inputs"]["minimumTlsVersion"] = "TLS1_1"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    assert main(["policy", "--plan", str(edited)]) == POLICY_FAILED
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    header = lines.index("  azure-native:storage:StorageAccount nlp-research-storage")
    assert lines[header + 1 : header + 5] == [
        "    [mandatory] storage-shared-key-off: allowSharedKeyAccess is True, not False",
        "      fix: Storage accepts Entra ID only: allowSharedKeyAccess false.",
        "    [mandatory] storage-tls-1-2: minimumTlsVersion is 'TLS1_1'",
        "      fix: Storage refuses TLS below 1.2: minimumTlsVersion TLS1_2.",
    ]
    assert "2 mandatory, 1 advisory violation(s)" in captured.out
    assert "error: the plan breaks mandatory guardrails" in captured.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", ":1: not JSON"),
        ('{"stack": "prod"}', "no `resources` list"),
        ('{"resources": []}', "not a plan: no `stack`"),
        ('{"stack": "prod", "resources": [{"type": "x"}]}', "resources[0] has no urn, type and name"),
        ('{"stack": "qa", "resources": []}', "Pulumi.qa.yaml"),
    ],
)
def test_a_bad_plan_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    assert main(["policy", "--plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_stack_and_plan_exclude_each_other(prod_json: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["policy", "--stack", "prod", "--plan", str(prod_json)])
    assert exit_.value.code == 2


def test_the_plan_shows_the_guardrails_and_fails_on_a_mandatory_violation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = Sandbox.from_examples(tmp_path)
    assert main(["--root", str(sandbox.root), "plan", "--stack", "dev", "--as-of", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    assert "Guardrails for stack 'dev'" in out and "0 mandatory, 5 advisory" in out
    assert "ml-workspace-public-network: advisory in dev" in out
    environment = example_environment("dev")
    del environment["policy"]
    sandbox.stack("dev", environment)
    assert (
        main(["--root", str(sandbox.root), "plan", "--stack", "dev", "--as-of", "2026-12-01"])
        == POLICY_FAILED
    )
    assert "[mandatory] ml-workspace-public-network" in capsys.readouterr().out


def test_policy_on_a_stack_writes_the_pack_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pack-config.json"
    assert main(["policy", "--stack", "dev", "--as-of", "2026-12-01", "--pack-config", str(config)]) == 0
    assert json.loads(config.read_text()) == {
        "ml-workspace-public-network": {"enforcementLevel": "advisory"},
        "project-budget": {"enforcementLevel": "advisory"},
    }
    assert "--policy-pack-config" in capsys.readouterr().out
