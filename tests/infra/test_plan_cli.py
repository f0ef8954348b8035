"""`python -m infra plan` and `graph` as a platform engineer and CI call them: outputs, exit codes
(0 done, 1 changes with --expect-no-changes, 2 error, 3 refused) and one clear message per
problem, never a traceback."""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.cli import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, EXIT_REFUSED, build_parser
from infra.plan.diff_render import marker
from infra.plan.offline import REPOSITORY, plan_stack
from tests.infra.sandbox import Sandbox, example_project
from tests.infra.test_plan import run_cli

pytestmark = pytest.mark.cli  # child processes: left out of `make mutate`


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def scale_vision_lab(sandbox: Sandbox, max_nodes: int = 3) -> None:
    project = example_project("vision-lab")
    project["clusters"]["t4-spot"]["max_nodes"] = max_nodes
    sandbox.project("vision-lab.yaml", project)


def test_diff_against_a_saved_plan_refuses_deleting_protected_resources(sandbox: Sandbox) -> None:
    base = sandbox.root / "base.json"
    result = run_cli("plan", "--stack", "prod", "--json", str(base), cwd=sandbox.root)
    assert result.returncode == EXIT_OK, result.stderr
    assert "Resources by type:" in result.stdout and json.loads(base.read_text())["format_version"] == 2

    sandbox.remove_project("nlp-research.yaml")
    result = run_cli("plan", "--stack", "prod", "--diff-against", str(base), cwd=sandbox.root)
    assert result.returncode == EXIT_REFUSED
    assert result.stdout.startswith(f"Changes of stack 'prod' against plan {base}:\n- ")
    assert "nlp-research-workspace is protected and would be deleted" in result.stderr
    no_traceback(result)


def test_expect_no_changes_tells_changes_from_errors(sandbox: Sandbox) -> None:
    sandbox_plan = sandbox.root / "{stack}.json"
    result = run_cli("plan", "--stack", "all", "--json", str(sandbox_plan), cwd=sandbox.root)
    assert result.returncode == EXIT_OK, result.stderr
    assert {path.name for path in sandbox.root.glob("*.json")} == {"dev.json", "prod.json"}
    same = run_cli(
        "plan", "--stack", "all", "--diff-against", str(sandbox_plan), "--expect-no-changes", cwd=sandbox.root
    )
    assert same.returncode == EXIT_OK, same.stderr
    assert "Changes of stack 'dev'" in same.stdout and "Changes of stack 'prod'" in same.stdout

    scale_vision_lab(sandbox)
    changed = run_cli(
        "plan", "--stack", "dev", "--diff-against", str(sandbox.root / "dev.json"), "--expect-no-changes",
        cwd=sandbox.root,
    )  # fmt: skip
    assert changed.returncode == EXIT_CHANGES
    assert "--expect-no-changes, and the plan has changes: ~ 1 to update" in changed.stderr

    sandbox.remove_project("nlp-research.yaml")  # refused in prod: every stack is still planned
    refused = run_cli("plan", "--stack", "all", "--diff-against", str(sandbox_plan), cwd=sandbox.root)
    assert refused.returncode == EXIT_REFUSED
    assert "Changes of stack 'dev'" in refused.stdout and "Changes of stack 'prod'" in refused.stdout
    assert (
        "stack prod: this change makes 4 change(s)" in refused.stderr and "stack dev:" not in refused.stderr
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--json", "no/such/folder/plan.json"], "no/such/folder/plan.json: folder "),
        (["--diff-against", "missing.json"], "missing.json: no such file"),
        (["--diff-against", "broken.json"], "broken.json: not JSON (Expecting value at line 1)"),
        (["--diff-against", "other.json"], "is of stack 'dev', not 'prod'"),
        (["--diff-against", "list.json"], "list.json: not a plan or a stack export (a JSON list)"),
        (["--base", "no-such-ref"], "--base no-such-ref: not a commit in the git repository"),
    ],
)
def test_bad_input_is_one_clear_error(sandbox: Sandbox, arguments: list[str], message: str) -> None:
    (sandbox.root / "broken.json").write_text("not json")
    (sandbox.root / "list.json").write_text("[]")
    (sandbox.root / "other.json").write_text(json.dumps({"stack": "dev", "resources": []}))
    result = run_cli("plan", "--stack", "prod", *arguments, cwd=sandbox.root)
    assert result.returncode == EXIT_ERROR, result.stdout
    assert message in result.stderr and result.stderr.startswith("python -m infra: error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    no_traceback(result)


def test_an_unknown_stack_lists_the_stacks(sandbox: Sandbox) -> None:
    result = run_cli("plan", "--stack", "staging", cwd=sandbox.root)
    assert result.returncode == EXIT_ERROR
    assert "no stack 'staging' (stacks/Pulumi.staging.yaml); stacks: dev, prod" in result.stderr


def test_json_to_stdout_is_the_plan_and_nothing_else(sandbox: Sandbox) -> None:
    result = run_cli("plan", "--stack", "dev", "--json", "-", cwd=sandbox.root)
    assert result.returncode == EXIT_OK, result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == "mlplatform-offline-plan" and document["stack"] == "dev"
    assert len(document["resources"]) == len(plan_stack("dev", sandbox.root).resources)


def test_base_ref_plans_the_base_in_a_temporary_worktree(sandbox: Sandbox) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(sandbox.root), *args], capture_output=True, text=True, check=True
        ).stdout

    git("init", "--quiet")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "base")
    scale_vision_lab(sandbox)
    nlp = example_project("nlp-research")
    nlp["access"]["readers"] = []  # a group leaves: named from the base's files, which still list it
    sandbox.project("nlp-research.yaml", nlp)
    result = run_cli(
        "plan", "--stack", "dev", "--base", "HEAD", "--format", "markdown", "--preview-json", "preview.json",
        cwd=sandbox.root,
    )  # fmt: skip
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.startswith(marker("dev"))
    assert "**~ 1 to update, - 1 to delete, " in result.stdout and "maxNodeCount: 2 => 3" in result.stdout
    assert (
        'principal sg-nlp-stakeholders (Group), role "Reader", scope resourceGroups/rg-mlp-dev-nlp-research'
        in (result.stdout)
    )
    preview = json.loads((sandbox.root / "preview.json").read_text())
    assert preview["changeSummary"]["update"] == 1 and sorted(s["op"] for s in preview["steps"]) == [
        "delete",
        "update",
    ]
    assert len(git("worktree", "list").splitlines()) == 1  # the temporary worktree is gone


def test_graph_lists_every_resource_with_its_parent_and_dependencies(sandbox: Sandbox) -> None:
    svg = sandbox.root / "dev.svg"
    result = run_cli("graph", "--stack", "prod", "--output", "-", "--svg", str(svg), cwd=sandbox.root)
    plan = plan_stack("prod", sandbox.root)
    if shutil.which("dot") is None:
        assert result.returncode == EXIT_ERROR and "Graphviz's `dot` is not installed" in result.stderr
        return
    assert result.returncode == EXIT_OK, result.stderr
    dot = result.stdout
    assert dot.startswith("strict digraph {") and dot.rstrip().endswith("}")
    for resource in plan.resources:
        assert f'label = "{resource.urn}' in dot
    urns = {resource.urn for resource in plan.resources}
    assert dot.count('[color = "#AA6639"]') == sum(1 for r in plan.resources if r.parent in urns)
    assert dot.count('color = "#246C60"') == sum(len(set(r.dependencies) & urns) for r in plan.resources)
    assert dot.count("(protected)") == sum(1 for r in plan.resources if r.options.get("protect"))
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_the_readme_shows_the_current_graph_of_the_dev_stack() -> None:
    # README.md embeds docs/graph-dev.svg (committed; `make graph` writes it): drawn from the
    # current program's DOT, it has its nodes and their names
    result = run_cli("graph", "--stack", "dev", "--short-node-name", "--output", "-")
    assert result.returncode == EXIT_OK, result.stderr
    names = re.findall(r'^ *Resource\d+ \[label = "[^"]*\\n([^"]*)"\];$', result.stdout, flags=re.MULTILINE)
    svg = html.unescape((REPOSITORY / "docs" / "graph-dev.svg").read_text())  # Graphviz writes - as &#45;
    assert names and svg.count('class="node"') == len(names), "docs/graph-dev.svg is stale: run `make graph`"
    missing = [name for name in names if f">{name}</text>" not in svg]
    assert not missing, f"docs/graph-dev.svg is stale (no {missing[:3]}): run `make graph`"


def test_every_subcommand_and_option_has_help_and_the_version_is_shown() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("python -m infra 0.")
    script = Path(sys.executable).parent / "azml-infra"
    helped = subprocess.run([str(script), "plan", "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: azml-infra plan")
    assert "3  refused" in helped.stdout
