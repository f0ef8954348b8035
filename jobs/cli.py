"""`python -m jobs` / `azml-jobs`: fine-tune on the project's workspace without knowing its ids.

Only argparse and the standard library load at start-up; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import io
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from jobs.errors import FollowStopped, JobsError, OperationFailed
from jobs.statuses import UNSUCCESSFUL_STATUSES

if TYPE_CHECKING:
    from jobs.submit import ClientFactory, JobView, Polling, WorkspaceJobs
    from jobs.targets import Target


# Exit codes (docs/jobs.md): the same meaning for every command.
EXIT_OK = 0  # done; for status/--wait: the job completed (status without --wait: not failed)
EXIT_JOB_FAILED = 1  # the job failed or was canceled, or a followed operation ended Failed (error printed)
EXIT_USER_ERROR = 2  # bad recipe or arguments, unknown project, missing access, Azure refused
EXIT_FOLLOW_STOPPED = 3  # --wait stopped reading the job or operation (it keeps running on Azure)
EXIT_INTERRUPTED = 130  # Ctrl-C


# Commands whose long-running operation can go on without them (docs/jobs.md, "--wait").
WAIT_HELP = "follow the long-running operation to its end (default: return once Azure accepted it)"


def _target_options(*, required: bool) -> argparse.ArgumentParser:
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument(
        "--stack", required=required, metavar="ENV", help="environment (Pulumi stack), e.g. dev"
    )
    target.add_argument("--project", required=required, metavar="NAME", help="onboarded project name")
    target.add_argument(
        "--outputs",
        type=Path,
        metavar="FILE",
        help="saved `pulumi stack output --json` (default: ask pulumi)",
    )
    target.add_argument(
        "--verbose", action="store_true", help="show the Azure SDK's own log messages on stderr"
    )
    return target


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azml-jobs", description="Fine-tune models on a project's Azure ML workspace."
    )
    target = _target_options(required=True)
    # `endpoints` lists with the target given after it, and its `logs`, `invoke` and `delete` take
    # the target after their own name: there the outer copy must not insist on it.
    optional_target = _target_options(required=False)
    commands = parser.add_subparsers(dest="command", required=True)

    finetune = commands.add_parser("finetune", parents=[target], help="build, check and submit a recipe")
    finetune.add_argument("recipe", type=Path, help="recipe YAML, e.g. jobs/recipes/phi3-mini-chat-lora.yaml")
    finetune.add_argument(
        "--dry-run", action="store_true", help="print the REST body and az ml YAML; no network"
    )
    finetune.add_argument(
        "--force-new",
        action="store_true",
        help="submit a new job even if this one exists, recomputing every pipeline step",
    )
    finetune.add_argument("--wait", action="store_true", help="follow the job until it ends")
    finetune.add_argument(
        "--subscribe",
        action="store_true",
        help="serverless, non-Microsoft model: create the workspace's marketplace subscription to its offer "
        "if it has none (accepts the offer's terms; Azure Marketplace bills its use)",
    )
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
        "deploy", parents=[target], help="blue/green: a registered model to a managed online endpoint"
    )
    deploy.add_argument(
        "model", help="NAME:VERSION in the workspace, or azureml://registries/R/models/NAME/versions/V"
    )
    deploy.add_argument("--endpoint", required=True, help="endpoint name (3-32 chars, unique per region)")
    deploy.add_argument("--deployment", help="new deployment name (default: <model>-v<version>)")
    deploy.add_argument("--instance-type", required=True, help="GPU VM size, e.g. Standard_NC24ads_A100_v4")
    deploy.add_argument("--instance-count", type=int, default=1)
    deploy.add_argument("--auth-mode", default="aad_token", help="aad_token (default), key or aml_token")
    deploy.add_argument("--traffic", type=int, default=100, help="percent for the new deployment (canary)")
    deploy.add_argument(
        "--retire-old", action="store_true", help="delete the previous deployments once traffic moved"
    )
    deploy.add_argument("--sample-request", type=Path, metavar="FILE", help="JSON request for the smoke test")
    deploy.add_argument("--dry-run", action="store_true", help="print the REST bodies; no network")

    register = commands.add_parser(
        "register", parents=[target], help="register a completed job's MLflow model in the workspace"
    )
    register.add_argument("job", help="job name")
    register.add_argument("--name", help="model name (default: <recipe>-ft)")
    register.add_argument("--version", help="model version (default: the workspace's next)")
    register.add_argument(
        "--dry-run", action="store_true", help="read the job, print the model body; no write"
    )

    promote = commands.add_parser(
        "promote", parents=[target], help="share a workspace model into the environment's registry"
    )
    promote.add_argument("model", help="NAME:VERSION of a model registered in the project's workspace")
    promote.add_argument("--dry-run", action="store_true", help="print the import request; no network")

    endpoints = commands.add_parser(
        "endpoints",
        parents=[optional_target],
        help="this project's online endpoints (GPU endpoints bill around the clock)",
    )
    endpoint_commands = endpoints.add_subparsers(dest="endpoint_command")
    logs = endpoint_commands.add_parser("logs", parents=[target], help="a deployment's log tail")
    logs.add_argument("endpoint")
    logs.add_argument("--deployment", required=True)
    logs.add_argument("--lines", type=int, default=100)
    invoke = endpoint_commands.add_parser("invoke", parents=[target], help="send one JSON request")
    invoke.add_argument("endpoint")
    invoke.add_argument("--request", type=Path, required=True, metavar="FILE")
    invoke.add_argument("--deployment", help="this deployment alone, whatever its traffic")
    delete = endpoint_commands.add_parser(
        "delete", parents=[target], help="delete an endpoint and its deployments"
    )
    delete.add_argument("endpoint")
    delete.add_argument("--dry-run", action="store_true", help="print the request; no network")
    delete.add_argument("--wait", action="store_true", help=WAIT_HELP)

    serverless = commands.add_parser(
        "deploy-serverless",
        parents=[target],
        help="a serverless fine-tune to a serverless endpoint (hourly hosting fee plus tokens)",
    )
    serverless.add_argument("model", help="NAME:VERSION of the fine-tuned model in the project's workspace")
    serverless.add_argument("--endpoint", required=True, help="serverless endpoint name")
    serverless.add_argument(
        "--base-model", required=True, help="catalog model fine-tuned, azureml://registries/R/models/NAME"
    )
    serverless.add_argument("--dry-run", action="store_true", help="print the REST bodies; no network")
    serverless.add_argument("--wait", action="store_true", help=WAIT_HELP)

    rollback = commands.add_parser(
        "rollback",
        parents=[target],
        help="traffic back to the deployments that served before the last deploy",
    )
    rollback.add_argument("--endpoint", required=True)
    rollback.add_argument("--dry-run", action="store_true", help="say what would change; no network")
    rollback.add_argument("--wait", action="store_true", help=WAIT_HELP)
    return parser


def git_commit() -> str:
    try:
        completed = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    return completed.stdout.strip() if completed.returncode == 0 and completed.stdout.strip() else "unknown"


def _target(args: argparse.Namespace, *, offline: bool) -> Target:
    from jobs.targets import load_stack_outputs, resolve_target

    outputs = load_stack_outputs(
        args.stack,
        args.outputs,
        offline=offline and args.outputs is None,
        dry_run_available=hasattr(args, "dry_run"),
    )
    return resolve_target(outputs, args.stack, args.project)


@contextmanager
def _sdk_output(verbose: bool) -> Iterator[None]:
    """Keep the Azure SDKs' own output out of ours unless --verbose.

    azure-ai-ml prints progress dots to stdout while it waits for long-running operations and
    logs INFO messages ("Check: endpoint ... exists") through its own handler; azure-identity
    logs a warning per credential DefaultAzureCredential tried before the one-line error we
    print. Our output goes to the streams main() was given, which this leaves alone.
    """
    # logging.disable, not a level or `disabled` on the "azure" loggers: the SDKs create loggers
    # lazily with levels of their own (azure.ai.ml._telemetry.*), and a child's records reach the
    # root's handlers, or Python's last-resort stderr handler, whatever its parent says. The CLI
    # itself does not log, so nothing of ours is lost.
    sdk = logging.getLogger("azure")
    level = sdk.level
    if verbose:
        sdk.setLevel(logging.INFO)
    else:
        logging.disable(logging.CRITICAL)
    try:
        with redirect_stdout(sys.stderr if verbose else io.StringIO()):
            yield
    finally:
        logging.disable(logging.NOTSET)
        sdk.setLevel(level)


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
        with _sdk_output(args.verbose):
            return _command(args, factory, stdout, stderr, polling)
    except FollowStopped as error:
        stderr.write(f"error: {error}\n")
        return EXIT_FOLLOW_STOPPED
    except OperationFailed as error:
        stderr.write(f"error: {error}\n")
        return EXIT_JOB_FAILED
    except KeyboardInterrupt:
        # Commands with a long wait say more (deploy, finetune --wait); the rest just stop. What
        # was already sent to Azure ML goes on there.
        stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except JobsError as error:
        stderr.write(f"error: {error}\n")
        return EXIT_USER_ERROR


def _command(
    args: argparse.Namespace, factory: ClientFactory, out: TextIO, err: TextIO, polling: Polling | None
) -> int:
    if args.command == "finetune":
        return _finetune(args, factory, out, err, polling)
    if args.command == "deploy":
        return _deploy(args, factory, out, err)
    if args.command == "rollback":
        return _rollback(args, factory, out)
    if args.command == "deploy-serverless":
        from jobs import maas

        target = _target(args, offline=args.dry_run)
        tags = {"project": target.project, "environment": target.environment, "git_commit": git_commit()}
        plan = maas.build(args.endpoint, args.model, args.base_model, target, tags)
        if args.dry_run:
            out.write(maas.render(plan, target))
        else:
            maas.deploy(plan, target, factory(target, None), out, wait=args.wait)
        return EXIT_OK
    if args.command == "endpoints":
        return _endpoints(args, factory, out)
    if args.command == "register":
        from jobs.models import register

        target = _target(args, offline=False)
        register(
            args.job,
            target,
            factory(target, None),
            lambda registry: factory(target, registry),
            out,
            name=args.name,
            version=args.version,
            dry_run=args.dry_run,
        )
        return EXIT_OK
    if args.command == "promote":
        from jobs.models import promote

        target = _target(args, offline=args.dry_run)
        promote(
            args.model,
            target,
            None if args.dry_run else factory(target, None),
            lambda: factory(target, target.registry_name),
            out,
            dry_run=args.dry_run,
        )
        return EXIT_OK
    target = _target(args, offline=False)
    from jobs.submit import WorkspaceJobs

    jobs = WorkspaceJobs(target, factory(target, None))
    if args.command == "status":
        view = jobs.get(args.name)
        out.write(f"{view.name}  {view.status}  {view.display_name}\n{view.studio_url}\n")
        if args.wait:
            return _wait(jobs, view.name, args, out, err, polling)
        return (
            _report_unsuccessful(jobs, view, err, args) if view.status in UNSUCCESSFUL_STATUSES else EXIT_OK
        )
    if args.command == "list":
        for view in jobs.list_project(args.limit):
            out.write(f"{view.name}  {view.status}  recipe={view.tags.get('recipe', '?')}\n")
        return EXIT_OK
    jobs.cancel(args.name)
    out.write(f"cancel requested: {args.name}\n")
    return EXIT_OK


def _finetune(
    args: argparse.Namespace, factory: ClientFactory, out: TextIO, err: TextIO, polling: Polling | None
) -> int:
    from jobs.build import build_job
    from jobs.checks import check_recipe, mutable_data_notes
    from jobs.recipes import load_recipe

    loaded = load_recipe(args.recipe)
    target = _target(args, offline=args.dry_run)
    placement = check_recipe(loaded, target)
    suffix = uuid.uuid4().hex[:6] if args.force_new else ""
    built = build_job(
        loaded,
        target,
        placement.cluster,
        placement.gpus_per_node,
        git_commit(),
        suffix,
        force_rerun=args.force_new,
    )
    notes = mutable_data_notes(loaded)
    if args.dry_run:
        from jobs.registry import dry_run_note
        from jobs.render import render_dry_run

        out.write(render_dry_run(built, [dry_run_note(loaded), *notes]))
        return EXIT_OK

    from jobs.maas import check_finetune
    from jobs.registry import check_registry
    from jobs.submit import WorkspaceJobs

    notes += check_registry(loaded, placement, lambda registry: factory(target, registry))
    client = factory(target, None)
    notes += check_finetune(loaded, target, client, out, subscribe=args.subscribe)
    for note in notes:
        out.write(f"note: {note}\n")
    jobs = WorkspaceJobs(target, client)
    submission = jobs.submit(built)
    view = submission.job
    if submission.attached and view.status in UNSUCCESSFUL_STATUSES:
        # The same recipe already ran and did not succeed: attaching would report its old outcome.
        out.write(f"existing job: {view.name} ({view.status})\n{view.studio_url}\n")
        return _report_unsuccessful(jobs, view, err, args)
    verb = "attached to existing job" if submission.attached else "submitted"
    out.write(f"{verb}: {view.name} ({view.status})\n{view.studio_url}\n")
    return _wait(jobs, view.name, args, out, err, polling) if args.wait else EXIT_OK


def _report_unsuccessful(jobs: WorkspaceJobs, view: JobView, err: TextIO, args: argparse.Namespace) -> int:
    """One line with a failed job's error (from its failing step) and, for finetune, how to retry."""
    reason = jobs.failure(view.name) if view.status == "Failed" else None
    line = f"error: {view.name} ended {view.status}"
    line += (
        f": {reason}"
        if reason
        else (": no error recorded; see the studio logs" if view.status == "Failed" else "")
    )
    if args.command == "finetune":
        line += "; to train again, run the same command with --force-new"
    err.write(line + "\n")
    return EXIT_JOB_FAILED


def _deploy(args: argparse.Namespace, factory: ClientFactory, out: TextIO, err: TextIO) -> int:
    import json

    from jobs.deploy import DeploySpec, RolloutFailed, build_deployment, deploy, render_deployment
    from jobs.targets import environment_facts

    spec = DeploySpec(
        endpoint=args.endpoint,
        model=args.model,
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        auth_mode=args.auth_mode,
        deployment=args.deployment,
        traffic=args.traffic,
        retire_old=args.retire_old,
    )
    sample = None
    if args.sample_request is not None:
        try:
            sample = json.loads(args.sample_request.read_text())
        except (OSError, ValueError) as error:
            raise JobsError(
                f"--sample-request {args.sample_request}: not a readable JSON file: {error}"
            ) from error
    target = _target(args, offline=args.dry_run)
    tags = {"project": target.project, "environment": target.environment, "git_commit": git_commit()}
    built = build_deployment(
        spec, target, target.facts or environment_facts(target.environment, target.location), tags
    )
    if args.dry_run:
        out.write(render_deployment(built, target.location))
        return EXIT_OK
    registry = built.model.registry
    try:
        scoring_uri, share = deploy(
            built,
            target,
            factory(target, None),
            out,
            err,
            registry_client=factory(target, registry) if registry else None,
            sample_request=sample,
        )
    except RolloutFailed as error:
        err.write(f"error: {error}\n")
        return EXIT_JOB_FAILED
    except KeyboardInterrupt:
        # Each step's operation keeps running on Azure; only the traffic PUT changes what is served.
        out.write(
            f"\ninterrupted: operations already sent keep running on Azure ML; check the traffic with "
            f"`azml-jobs endpoints --stack {args.stack} --project {args.project}`\n"
        )
        return EXIT_INTERRUPTED
    out.write(f"deployed {built.model} to {args.endpoint}/{built.deployment.name} ({share}% traffic)\n")
    if scoring_uri:
        out.write(f"{scoring_uri}\n")
    return EXIT_OK


def _endpoints(args: argparse.Namespace, factory: ClientFactory, out: TextIO) -> int:
    from jobs import endpoints

    if args.stack is None or args.project is None:
        raise JobsError("endpoints needs --stack ENV and --project NAME")
    dry_run = getattr(args, "dry_run", False)
    target = _target(args, offline=dry_run)
    client = None if dry_run else factory(target, None)
    if args.endpoint_command == "logs":
        endpoints.logs(target, client, out, args.endpoint, args.deployment, args.lines)
    elif args.endpoint_command == "invoke":
        endpoints.invoke(target, client, out, args.endpoint, args.request, args.deployment)
    elif args.endpoint_command == "delete":
        endpoints.delete(target, client, out, args.endpoint, dry_run=dry_run, wait=args.wait)
    else:
        endpoints.list_endpoints(target, client, out)
    return EXIT_OK


def _rollback(args: argparse.Namespace, factory: ClientFactory, out: TextIO) -> int:
    from jobs.deploy import PREVIOUS_TRAFFIC_TAG, rollback

    target = _target(args, offline=args.dry_run)
    if args.dry_run:
        out.write(
            f"# GET .../onlineEndpoints/{args.endpoint}, then PUT it with traffic = its tag {PREVIOUS_TRAFFIC_TAG} "
            "(and that tag = the traffic it replaces); nothing is deleted\n"
        )
        return EXIT_OK
    try:
        rollback(args.endpoint, target, factory(target, None), out, wait=args.wait)
    except KeyboardInterrupt:
        out.write("\ninterrupted: the traffic update, if sent, completes on Azure ML\n")
        return EXIT_INTERRUPTED
    return EXIT_OK


def _wait(
    jobs: WorkspaceJobs,
    name: str,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    polling: Polling | None,
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
        return EXIT_OK
    return _report_unsuccessful(jobs, final, err, args)
