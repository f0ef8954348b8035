"""The CI workflows run: they call only Makefile targets and CLI options that exist, put uv on the
PATH before anything runs Pulumi, pin every action to a commit of a release that runs on a
current runtime, and keep tokens to what each job needs. `make lint` runs zizmor over them too."""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# The first major of each action whose action.yml says `runs.using: node24` (read in each action's
# repository at its release tags); GitHub's runners no longer run node20 actions.
NODE24_SINCE = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "astral-sh/setup-uv": 7,
    "pulumi/actions": 7,
    "actions/upload-artifact": 6,
    "actions/download-artifact": 7,
}


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.stem, name, job) for path in WORKFLOWS for name, job in load(path)["jobs"].items()]


def run_steps() -> list[str]:
    return [step["run"] for _, _, job in jobs() for step in job["steps"] if "run" in step]


def test_workflows_exist_for_tests_previews_comments_real_previews_and_deploys() -> None:
    assert {path.stem for path in WORKFLOWS} == {
        "ci",
        "preview",
        "preview-comment",
        "pulumi-preview",
        "deploy",
    }


def test_every_make_target_a_workflow_or_the_readme_calls_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    readme = (ROOT / "README.md").read_text()
    # the README's commands: its sh blocks and its inline `make …`
    commands = [*re.findall(r"```sh\n(.*?)```", readme, re.DOTALL), *re.findall(r"`(make [^`]+)`", readme)]
    called = {
        m
        for script in [*run_steps(), *commands]
        for m in re.findall(r"\bmake (?:--silent )?(?:-C \S+ )?([a-z][\w-]*)", script)
    }
    assert {"plan", "sync", "validate", "test", "onboard", "graph"} <= called
    assert called <= targets, called - targets


def test_readme_commands_need_nothing_but_make_on_a_fresh_clone() -> None:
    """uv may be only in .tools/bin after `make sync`: no README command calls uv or python directly."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.DOTALL)
    commands = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    for command in filter(None, commands):
        assert not command.startswith(("uv ", "python")), command


def test_ci_runs_the_readme_test_command() -> None:
    assert "bash .ci/run" in run_steps()
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text() and "make plan" in (ROOT / "README.md").read_text()


def _make_command(*arguments: str) -> list[str]:
    expanded = subprocess.run(
        ["make", "-n", *arguments, "UV=uv"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    command = next(line for line in expanded.splitlines() if "python -m infra" in line)
    return shlex.split(command.split("python -m infra ", 1)[1])


@pytest.mark.cli
def test_the_preview_and_onboard_commands_parse() -> None:
    args = build_parser().parse_args(
        _make_command("plan", "STACK=prod", "PLAN_ARGS=--base 0123abc --format markdown")
    )
    assert (args.stack, args.base, args.format) == ("prod", "0123abc", "markdown")
    args = build_parser().parse_args(
        _make_command("onboard", "NAME=my-project", "OWNER=lead@contoso.com", "ENVIRONMENTS=dev")
    )
    assert (args.name, args.owner, args.environments) == ("my-project", "lead@contoso.com", "dev")
    args = build_parser().parse_args(_make_command("graph", "STACK=dev"))
    assert (args.stack, args.svg) == ("dev", "docs/graph-dev.svg")


def test_every_action_is_pinned_to_a_commit_of_a_current_major() -> None:
    uses = re.compile(r"uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # v(\d+)\.\d+\.\d+$")
    found = 0
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            if "uses:" not in line:
                continue
            match = uses.search(line)
            assert match, f"{path.name}: not pinned to a commit with its release tag: {line.strip()}"
            action, _, major = match.groups()
            assert action in NODE24_SINCE, f"{path.name}: {action} has no known node24 release here"
            assert int(major) >= NODE24_SINCE[action], f"{path.name}: {action} v{major} runs on an old node"
            found += 1
    assert found >= 10


def test_checkouts_keep_no_credentials_and_every_job_has_its_own_permissions() -> None:
    for workflow, name, job in jobs():
        assert "permissions" in job, f"{workflow}/{name}: no job permissions"
        assert "write-all" not in str(job["permissions"])
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{workflow}/{name}"
    for path in WORKFLOWS:
        assert load(path)["permissions"] == {}, f"{path.name}: workflow-level permissions must be empty"


def test_jobs_that_run_pulumi_have_uv_the_pinned_cli_and_a_concurrency_group_per_stack() -> None:
    makefile = (ROOT / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert uv_version
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    sdk = next(p["version"] for p in lock["package"] if p["name"] == "pulumi")
    assert (ROOT / ".pulumi-version").read_text().strip() == sdk  # the CLI of the SDK's release
    pulumi_jobs = 0
    for workflow, name, job in jobs():
        steps = job["steps"]
        runs_pulumi = any(str(s.get("uses", "")).startswith("pulumi/actions@") for s in steps)
        if not runs_pulumi:
            continue
        pulumi_jobs += 1
        setup = [s for s in steps if str(s.get("uses", "")).startswith("astral-sh/setup-uv@")]
        assert setup and setup[0]["with"]["version"] == uv_version.group(1), f"{workflow}/{name}"
        first_pulumi = next(i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("pulumi/"))
        assert steps.index(setup[0]) < first_pulumi
        for step in steps:
            if str(step.get("uses", "")).startswith("pulumi/actions@"):
                assert step["with"]["pulumi-version-file"] == ".pulumi-version"
        assert "matrix.stack" in job["concurrency"]["group"], f"{workflow}/{name}"
    assert pulumi_jobs == 3


def test_deploy_applies_the_plan_saved_by_its_preview_behind_the_stack_environment() -> None:
    deploy = load(ROOT / ".github" / "workflows" / "deploy.yml")["jobs"]
    preview = next(s for s in deploy["preview"]["steps"] if s.get("with", {}).get("command") == "preview")
    up = next(s for s in deploy["up"]["steps"] if s.get("with", {}).get("command") == "up")
    assert preview["with"]["plan"] == up["with"]["plan"]
    assert deploy["up"]["needs"] == "preview" and deploy["up"]["environment"] == "${{ matrix.stack }}"


def test_one_comment_per_stack_identified_by_its_hidden_marker() -> None:
    from infra.plan.diff_render import marker

    comment = load(ROOT / ".github" / "workflows" / "preview-comment.yml")
    script = next(s["run"] for s in comment["jobs"]["comment"]["steps"] if "run" in s)
    assert 'marker="<!-- mlplatform-preview:$STACK -->"' in script
    assert marker("$STACK") == "<!-- mlplatform-preview:$STACK -->"
    assert "upsert-comment" in script and "--edit-last" not in "".join(run_steps())
    assert comment[True]["workflow_run"]["workflows"] == ["preview"]  # YAML 1.1 reads `on` as true


@pytest.mark.cli
def test_every_make_command_the_readme_shows_expands_to_a_valid_cli_call() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", readme, re.DOTALL))
    commands = [line.split("#")[0].strip() for line in blocks.splitlines()]
    commands += [inline for inline in re.findall(r"`(make [^`]+)`", readme) if "=" in inline]
    checked = 0
    for command in commands:
        for part in command.split("&&"):
            words = shlex.split(part.strip())
            if len(words) < 2 or words[0] != "make" or words[1] in ("sync", "test", "bench", "bench-diff"):
                continue
            build_parser().parse_args(_make_command(*words[1:]))
            checked += 1
    assert checked >= 5


FAKE_GH = """#!/usr/bin/env bash
# records each call; answers the comment list with the ids of comments whose body has the marker
echo "$*" >> "$GH_LOG"
if [ "$2" = "--paginate" ]; then cat "$GH_COMMENTS"; fi
"""


@pytest.mark.cli
def test_upsert_comment_updates_the_stacks_comment_in_place_or_creates_one(tmp_path: Path) -> None:
    (tmp_path / "gh").write_text(FAKE_GH)
    (tmp_path / "gh").chmod(0o755)
    body = tmp_path / "body.md"
    body.write_text("<!-- mlplatform-preview:prod -->\nchanges\n")
    log, comments = tmp_path / "log", tmp_path / "comments"
    script = ROOT / ".github" / "scripts" / "upsert-comment"

    def run(existing: str) -> list[str]:
        comments.write_text(existing)
        log.write_text("")
        env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "GH_LOG": str(log), "GH_COMMENTS": str(comments)}
        subprocess.run(
            ["bash", str(script), "org/repo", "17", "<!-- mlplatform-preview:prod -->", str(body)],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return log.read_text().splitlines()

    created = run("")
    assert created[0].startswith("api --paginate repos/org/repo/issues/17/comments --jq ")
    assert 'select(.body | startswith("<!-- mlplatform-preview:prod -->"))' in created[0]
    assert created[1] == f"api --method POST repos/org/repo/issues/17/comments -F body=@{body}"
    updated = run("4242\n4343\n")
    assert updated[1] == f"api --method PATCH repos/org/repo/issues/comments/4242 -F body=@{body}"
    refused = subprocess.run(
        ["bash", str(script), "org/repo", "17; rm -rf /", "m", str(body)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2 and "not a pull request number" in refused.stderr


@pytest.mark.cli
def test_the_offline_preview_step_runs_and_writes_the_stacks_comment(tmp_path: Path) -> None:
    """The step of preview.yml as GitHub runs it (`bash -e`), against this checkout's HEAD."""
    import os

    from infra.plan.diff_render import marker

    job = load(ROOT / ".github" / "workflows" / "preview.yml")["jobs"]["offline"]
    step = next(s for s in job["steps"] if str(s.get("name", "")).startswith("Offline plan"))
    env = {
        **os.environ,
        **step["env"],
        "BASE_SHA": "HEAD",
        "STACK": "dev",
        "PR": "7",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_ENV": str(tmp_path / "github-env"),
    }
    run = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    comment = (tmp_path / "comment" / "dev.md").read_text()
    assert comment.startswith(marker("dev") + "\n### Offline preview: `dev`\n\n**")
    assert "Against plan of HEAD." in comment
    assert (tmp_path / "comment" / "pr-number").read_text() == "7\n"
    assert (tmp_path / "github-env").read_text() == "status=0\n"
