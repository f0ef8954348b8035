"""`python -m jobs` / `azml-jobs`: fine-tune on the project's workspace without knowing its ids.

Only argparse and the standard library load at start-up; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from jobs.errors import JobsError

if TYPE_CHECKING:
    from jobs.submit import ClientFactory, Polling, WorkspaceJobs
    from jobs.targets import Target

EXIT_USER_ERROR = 2
EXIT_JOB_FAILED = 1
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azml-jobs", description="Fine-tune models on a project's Azure ML workspace."
    )
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument("--stack", required=True, metavar="ENV", help="environment (Pulumi stack), e.g. dev")
    target.add_argument("--project", required=True, metavar="NAME", help="onboarded project name")
    target.add_argument(
        "--outputs",
        type=Path,
        metavar="FILE",
        help="saved `pulumi stack output --json` (default: ask pulumi)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    finetune = commands.add_parser("finetune", parents=[target], help="build, check and submit a recipe")
    finetune.add_argument("recipe", type=Path, help="recipe YAML, e.g. jobs/recipes/phi3-mini-chat-lora.yaml")
    finetune.add_argument(
        "--dry-run", action="store_true", help="print the REST body and az ml YAML; no network"
    )
    finetune.add_argument("--force-new", action="store_true", help="submit a new job even if this one exists")
    finetune.add_argument("--wait", action="store_true", help="follow the job until it ends")
    finetune.add_argument(
        "--cancel-on-interrupt", action="store_true", help="Ctrl-C cancels instead of detaching"
    )

    status = commands.add_parser("status", parents=[target], help="show a job (and --wait for it)")
    status.add_argument("name")
    status.add_argument("--wait", action="store_true")
    status.add_argument("--cancel-on-interrupt", action="store_true")

    listing = commands.add_parser("list", parents=[target], help="this project's jobs")
    listing.add_argument("--max", type=int, default=20, dest="limit")

    cancel = commands.add_parser("cancel", parents=[target], help="cancel a job")
    cancel.add_argument("name")

    deploy = commands.add_parser(
        "deploy", parents=[target], help="deploy a registered model to a managed online endpoint"
    )
    deploy.add_argument("model", help="NAME:VERSION of a model registered in the project's workspace")
    deploy.add_argument("--endpoint", required=True, help="endpoint name (3-32 chars, unique per region)")
    deploy.add_argument("--deployment", default="default", help="deployment name (default: default)")
    deploy.add_argument("--instance-type", required=True, help="GPU VM size, e.g. Standard_NC24ads_A100_v4")
    deploy.add_argument("--instance-count", type=int, default=1)
    deploy.add_argument("--auth-mode", default="key", help="key (default) or aad_token")
    deploy.add_argument("--dry-run", action="store_true", help="print the REST bodies; no network")
    return parser


def git_commit() -> str:
    try:
        completed = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    return completed.stdout.strip() if completed.returncode == 0 and completed.stdout.strip() else "unknown"


def _target(args: argparse.Namespace, *, offline: bool) -> Target:
    from jobs.targets import load_stack_outputs, resolve_target

    outputs = load_stack_outputs(args.stack, args.outputs, offline=offline and args.outputs is None)
    return resolve_target(outputs, args.stack, args.project)


def _default_factory(target: Target, registry: str | None) -> Any:
    from jobs.submit import connect

    return connect(target, registry)


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    polling: Polling | None = None,
) -> int:
    """Run the CLI. `client_factory` builds the MLClient for a target (default: DefaultAzureCredential);
    `polling` sets how `--wait` polls (default: 5 s growing to 60 s, real sleep)."""
    stdout = out or sys.stdout
    stderr = err or sys.stderr
    args = _parser().parse_args(argv)
    # azure-ai-ml logs a warning for each experimental class it merely loads (dozens per command);
    # nothing a user can act on, and it buries the output.
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
    factory = client_factory or _default_factory
    try:
        if args.command == "finetune":
            return _finetune(args, factory, stdout, polling)
        if args.command == "deploy":
            return _deploy(args, factory, stdout)
        target = _target(args, offline=False)
        from jobs.submit import WorkspaceJobs

        jobs = WorkspaceJobs(target, factory(target, None))
        if args.command == "status":
            view = jobs.get(args.name)
            stdout.write(f"{view.name}  {view.status}  {view.display_name}\n{view.studio_url}\n")
            return _wait(jobs, view.name, args, stdout, polling) if args.wait else 0
        if args.command == "list":
            for view in jobs.list_project(args.limit):
                stdout.write(f"{view.name}  {view.status}  recipe={view.tags.get('recipe', '?')}\n")
            return 0
        jobs.cancel(args.name)
        stdout.write(f"cancel requested: {args.name}\n")
        return 0
    except JobsError as error:
        stderr.write(f"error: {error}\n")
        return EXIT_USER_ERROR


def _finetune(args: argparse.Namespace, factory: ClientFactory, out: TextIO, polling: Polling | None) -> int:
    from jobs.build import build_job
    from jobs.checks import check_recipe
    from jobs.recipes import load_recipe

    loaded = load_recipe(args.recipe)
    target = _target(args, offline=args.dry_run)
    placement = check_recipe(loaded, target)
    suffix = uuid.uuid4().hex[:6] if args.force_new else ""
    built = build_job(loaded, target, placement.cluster, placement.gpus_per_node, git_commit(), suffix)
    if args.dry_run:
        from jobs.render import render_dry_run

        notes = ["dry run: the registry was not read; compute allow-list and component inputs not checked"]
        out.write(render_dry_run(built, notes))
        return 0

    from jobs.registry import check_registry
    from jobs.submit import WorkspaceJobs

    for note in check_registry(loaded, placement, lambda registry: factory(target, registry)):
        out.write(f"note: {note}\n")
    jobs = WorkspaceJobs(target, factory(target, None))
    submission = jobs.submit(built)
    verb = "attached to existing job" if submission.attached else "submitted"
    out.write(f"{verb}: {submission.job.name} ({submission.job.status})\n{submission.job.studio_url}\n")
    return _wait(jobs, submission.job.name, args, out, polling) if args.wait else 0


def _deploy(args: argparse.Namespace, factory: ClientFactory, out: TextIO) -> int:
    from jobs.deploy import DeploySpec, build_deployment, deploy, render_deployment

    spec = DeploySpec(
        endpoint=args.endpoint,
        model=args.model,
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        auth_mode=args.auth_mode,
        deployment=args.deployment,
    )
    target = _target(args, offline=args.dry_run)
    tags = {"project": target.project, "environment": target.environment, "git_commit": git_commit()}
    built = build_deployment(spec, target, tags)
    if args.dry_run:
        out.write(render_deployment(built, target.location))
        return 0
    scoring_uri = deploy(built, target, factory(target, None))
    out.write(f"deployed {args.model} to {args.endpoint}/{args.deployment} (100% traffic)\n{scoring_uri}\n")
    return 0


def _wait(
    jobs: WorkspaceJobs, name: str, args: argparse.Namespace, out: TextIO, polling: Polling | None
) -> int:
    from jobs.submit import follow

    try:
        final = follow(jobs, name, out, polling)
    except KeyboardInterrupt:
        if args.cancel_on_interrupt:
            jobs.cancel(name)
            out.write(f"\ninterrupted: cancel requested for {name}\n")
        else:
            out.write(f"\ndetached; {name} keeps running (azml-jobs status {name} --wait ...)\n")
        return EXIT_INTERRUPTED
    if final.status == "Completed":
        out.write(f"{name} completed\n")
        return 0
    out.write(f"{name} ended {final.status}\n")
    if final.status == "Failed":
        out.write(f"error: {jobs.error(name) or 'no error recorded; see the studio logs'}\n")
    return EXIT_JOB_FAILED
