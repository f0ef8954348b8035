"""`python -m infra`: the offline plan and configuration checks for platform engineers.

Heavy modules (pulumi, the Azure SDK) are imported inside the commands that need them, so
`--help` and `validate` start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root).resolve()


class CliError(Exception):
    """A problem with what the command was asked to read or write: one line, no traceback."""


# Exit codes, the same for every subcommand (and documented in `--help` and docs/preview.md).
EXIT_OK = 0
EXIT_CHANGES = 1  # --expect-no-changes, and the plan has changes
EXIT_ERROR = 2  # bad input: configuration, files, git refs
EXIT_REFUSED = 3  # a change `pulumi up` would refuse or Azure cannot make
EXIT_GUARDRAILS = 4  # a mandatory guardrail or an Azure Policy Deny (infra/guardrails/runner.py)
EXIT_SKIPPED = 5  # check-live without Azure credentials: nothing was checked
EXIT_CODES = f"""exit codes:
  {EXIT_OK}  done (with or without changes)
  {EXIT_CHANGES}  --expect-no-changes was given and there are changes; check-live: a fact does not hold
  {EXIT_ERROR}  error: configuration, a file or a git ref that cannot be read or written
  {EXIT_REFUSED}  refused: replacing or deleting a protected resource, or a managed network going back
  {EXIT_GUARDRAILS}  a mandatory guardrail or an Azure Policy Deny definition fails
  {EXIT_SKIPPED}  check-live had no Azure credentials: nothing was checked
"""
STDOUT = "-"


def _stacks(root: Path, stack: str) -> list[str]:
    from infra.config.loader import Layout

    known = Layout(root).stacks()
    if stack == "all":
        if not known:
            raise CliError(f"no stacks in {root / 'stacks'}")
        return known
    if stack not in known:
        raise CliError(
            f"no stack {stack!r} (stacks/Pulumi.{stack}.yaml); stacks: {', '.join(known) or 'none'}"
        )
    return [stack]


def _target(path: str | None, stack: str, many: bool, flag: str) -> str | None:
    """Where an output of one stack goes: `-` is stdout; with several stacks `{stack}` is required."""
    if path is None or path == STDOUT:
        if path == STDOUT and many:
            raise CliError(f"{flag} -: with --stack all, write to files: put {{stack}} in the path")
        return path
    if many and "{stack}" not in path:
        raise CliError(f"{flag} {path}: with --stack all, put {{stack}} in the path")
    target = path.replace("{stack}", stack)
    folder = Path(target).resolve().parent
    if not folder.is_dir():
        raise CliError(f"{flag} {target}: folder {folder} does not exist")
    return target


def _write(target: str, text: str, what: str) -> None:
    if target == STDOUT:
        sys.stdout.write(text)
        return
    try:
        Path(target).write_text(text)
    except OSError as error:
        raise CliError(f"cannot write {what} to {target}: {error.strerror}") from None


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _as_of(args: argparse.Namespace) -> date:
    from infra.model.budget import as_of_date

    return args.as_of or as_of_date()


def cmd_plan(args: argparse.Namespace) -> int:
    from infra.plan.states import StateError

    root = _root(args)
    stacks = _stacks(root, args.stack)
    many = len(stacks) > 1
    if args.diff_against and args.base:
        raise CliError("give one base: --diff-against FILE or --base REF")
    to_stdout = STDOUT in (args.json, args.preview_json)
    if to_stdout and args.format == "markdown":
        raise CliError("--json - and --format markdown both want stdout: write the JSON to a file")
    if args.json == STDOUT and args.preview_json == STDOUT:
        raise CliError("--json - and --preview-json - both want stdout: write one of them to a file")
    targets = {
        stack: (
            _target(args.json, stack, many, "--json"),
            _target(args.preview_json, stack, many, "--preview-json"),
        )
        for stack in stacks
    }
    if args.diff_against:
        for stack in stacks:
            _target(args.diff_against, stack, many, "--diff-against")
    codes: list[int] = []
    try:
        if args.base:
            from infra.plan.base_ref import worktree

            with worktree(root, args.base) as checkout:
                codes = [_plan_one(args, root, stack, targets[stack], checkout) for stack in stacks]
        else:
            codes = [_plan_one(args, root, stack, targets[stack], None) for stack in stacks]
    except StateError as error:
        raise CliError(str(error)) from None
    return max(codes)


def _plan_one(
    args: argparse.Namespace,
    root: Path,
    stack: str,
    targets: tuple[str | None, str | None],
    checkout: Path | None,
) -> int:
    from infra.config.loader import Layout, load_platform
    from infra.model import resolve
    from infra.plan.diff import diff_states
    from infra.plan.diff_render import (
        principal_directory,
        render_diff_text,
        render_markdown,
        to_preview_json,
    )
    from infra.plan.fake_ids import FAKE_SUBSCRIPTION, FAKE_TENANT
    from infra.plan.offline import plan_stack
    from infra.plan.render import render_text, to_json
    from infra.plan.sections import plan_sections
    from infra.plan.states import StateError, empty_state, from_plan, read_state

    json_target, preview_target = targets
    as_of = _as_of(args)
    platform = load_platform(Layout(root), stack, as_of=as_of)
    # the base first: a base that cannot be read fails before the program runs
    if checkout is not None:
        from infra.plan.base_ref import plan_in

        base = plan_in(checkout, stack, args.base, as_of)
    elif args.diff_against:
        base = read_state(Path(args.diff_against.replace("{stack}", stack)))
    else:
        base = None
    if base is not None and base.stack and base.stack != stack:
        raise StateError(f"{base.source} is of stack {base.stack!r}, not {stack!r}")
    plan = plan_stack(stack, root, as_of=as_of)
    head = from_plan(plan)
    diff = diff_states(base or empty_state(stack, "an empty stack (no base given)"), head)
    resources = {**(base.resources if base else {}), **head.resources}
    principals = principal_directory(platform)
    if checkout is not None:
        # people removed by the change are named in the base's files
        principals = {**_base_principals(checkout, stack, as_of), **principals}
    if json_target:
        _write(json_target, to_json(plan), "the plan")
    if preview_target:
        _write(preview_target, to_preview_json(diff), "the preview JSON")
    if args.format == "markdown":
        sys.stdout.write(render_markdown(diff, resources, principals))
    elif STDOUT not in targets:
        if base is not None:
            # the changes first: what a reviewer reads, before the whole plan
            changes = render_diff_text(diff, resources, principals)
            sys.stdout.write(
                "\n".join([f"Changes of stack {stack!r} against {base.source}:", *changes, "", ""])
            )
        model = resolve(platform, subscription=FAKE_SUBSCRIPTION, tenant=FAKE_TENANT, as_of=as_of)
        sys.stdout.write(render_text(plan, plan_sections(model)))
        for target, what in ((json_target, "Full plan"), (preview_target, "Preview JSON")):
            if target:
                print(f"{what} written to {target}")
    # the guardrails and the environment's Azure Policy on this plan (docs/guardrails.md); beside a
    # Markdown comment or JSON on stdout, their report goes to stderr
    from infra.guardrails.command import check_recorded

    with contextlib.redirect_stdout(
        sys.stderr if args.format == "markdown" or STDOUT in targets else sys.stdout
    ):
        guarded = check_recorded(plan, root, as_of=as_of)
    if guarded != EXIT_OK:
        return guarded
    if diff.refusals and base is not None:
        from infra.plan.diff import RefusedChangeError, check_refusals

        try:
            check_refusals(diff)
        except RefusedChangeError as error:  # reported here so that --stack all plans every stack
            print(f"error: {error}", file=sys.stderr)
            return EXIT_REFUSED
    if args.expect_no_changes and base is not None and not diff.empty:
        print(
            f"error: stack {stack}: --expect-no-changes, and the plan has changes: {_summary(diff)}",
            file=sys.stderr,
        )
        return EXIT_CHANGES
    return EXIT_OK


def _base_principals(checkout: Path, stack: str, as_of: date) -> dict[str, tuple[str, str]]:
    from infra.config.errors import ConfigError
    from infra.config.loader import Layout, load_platform
    from infra.plan.diff_render import principal_directory

    try:
        return principal_directory(load_platform(Layout(checkout), stack, as_of=as_of))
    except (ConfigError, OSError):
        return {}  # a base these models cannot read: its principals show by their description


def _summary(diff: Any) -> str:
    from infra.plan.diff_render import summary_line

    return summary_line(diff)


def cmd_graph(args: argparse.Namespace) -> int:
    from infra.plan.graph import GraphvizMissingError, to_dot, to_svg
    from infra.plan.offline import plan_stack

    root = _root(args)
    (stack,) = _stacks(root, args.stack)
    output = _target(args.output, stack, False, "--output")
    svg = _target(args.svg, stack, False, "--svg")
    dot = to_dot(plan_stack(stack, root, as_of=_as_of(args)), short_names=args.short_node_name)
    if output:
        _write(output, dot, "the graph")
    if svg:
        try:
            image = to_svg(dot)
        except GraphvizMissingError as error:
            raise CliError(str(error)) from None
        try:
            Path(svg).write_bytes(image)
        except OSError as error:
            raise CliError(f"cannot write the SVG to {svg}: {error.strerror}") from None
        if output != STDOUT:
            print(f"Wrote the resource graph of {stack} to {svg}")
    return EXIT_OK


def cmd_policy(args: argparse.Namespace) -> int:
    from infra.guardrails.command import run

    return run(
        _root(args),
        stack=args.stack,
        plan_file=args.plan,
        azure_policy_dir=args.azure_policy,
        pack_config_file=args.pack_config,
        as_of=_as_of(args),
    )


def cmd_validate(args: argparse.Namespace) -> int:
    from infra.config.loader import Layout, validate_all

    layout = Layout(_root(args))
    issues = validate_all(layout, as_of=_as_of(args))
    if issues:
        print(f"{len(issues)} configuration problem{'s' if len(issues) != 1 else ''}:", file=sys.stderr)
        for issue in issues:
            print(f"  - {issue}", file=sys.stderr)
        return EXIT_ERROR
    stacks = layout.stacks()
    projects = layout.project_files()
    print(f"OK: {len(stacks)} stacks ({', '.join(stacks)}) and {len(projects)} project files are valid")
    return 0


def cmd_onboard(args: argparse.Namespace) -> int:
    from infra.config.loader import Layout
    from infra.onboard import onboard

    layout = Layout(_root(args))
    environments = (
        [env.strip() for env in args.environments.split(",") if env.strip()] if args.environments else None
    )
    path = onboard(
        layout,
        args.name,
        owner=args.owner,
        cost_center=args.cost_center,
        environments=environments,
        budget=args.budget,
    )
    print(
        f"Wrote {layout.relative(path)}: edit it, run `python -m infra validate`, then open a pull request."
    )
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("azureml-platform")
    except PackageNotFoundError:
        return "unknown (not installed: run `make sync`)"


def cmd_check_live(args: argparse.Namespace) -> int:
    import os

    from infra.config.loader import Layout, load_platform
    from infra.live_check import CredentialsMissing, arm_get_json, run

    platform = load_platform(Layout(_root(args)), args.stack)
    subscription = (
        args.subscription or os.environ.get("AZURE_SUBSCRIPTION_ID") or os.environ.get("ARM_SUBSCRIPTION_ID")
    )
    if not subscription:
        print("error: give --subscription (or set AZURE_SUBSCRIPTION_ID)", file=sys.stderr)
        return 2
    try:
        get_json = arm_get_json(managed_identity=args.managed_identity)
    except CredentialsMissing as error:
        print(
            f"skipped: no Azure credentials ({error}); nothing was checked. Run `az login` first.",
            file=sys.stderr,
        )
        return EXIT_SKIPPED
    environment = platform.environment
    findings = run(
        environment.location, environment.gpu_quota, subscription, get_json, environment.gpu_quota_by_region
    )
    for finding in findings:
        print(finding)
    failed = [f for f in findings if not f.ok]
    print(f"{len(findings) - len(failed)} facts hold, {len(failed)} do not")
    return 1 if failed else 0


def build_parser(prog: str = "python -m infra") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Azure ML platform: offline plan and configuration checks (no cloud credentials needed).",
    )
    parser.add_argument("--root", default=".", help="repository root (default: current directory)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plan = commands.add_parser(
        "plan",
        help="show what a stack would create, offline, and what changes against a base",
        description="Run the real program under Pulumi's mock runtime and show the plan; with a base "
        "(--diff-against or --base), what changes, as `pulumi preview --diff` shows it.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument(
        "--stack", default="dev", help="environment (stacks/Pulumi.<stack>.yaml), or `all`; default dev"
    )
    plan.add_argument(
        "--json", metavar="FILE", help="write the full plan as JSON to FILE (`-`: stdout, then nothing else)"
    )
    plan.add_argument(
        "--preview-json",
        metavar="FILE",
        help="write the changes in the shape of `pulumi preview --json` (steps, changeSummary) to FILE or `-`",
    )
    base = plan.add_mutually_exclusive_group()
    base.add_argument(
        "--diff-against",
        metavar="FILE",
        help="the base to compare with: a saved plan (--json of the base branch) or `pulumi stack export`",
    )
    base.add_argument(
        "--base",
        metavar="REF",
        help="the base to compare with: the plan of git REF, made in a temporary worktree",
    )
    plan.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="text (default) or markdown: the pull-request comment of the changes",
    )
    plan.add_argument(
        "--expect-no-changes",
        action="store_true",
        help=f"exit {EXIT_CHANGES} when the plan changes anything against the base",
    )
    plan.set_defaults(run=cmd_plan)

    graph = commands.add_parser(
        "graph",
        help="write the resource graph as DOT (as `pulumi stack graph` does) or SVG",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    graph.add_argument("--stack", default="dev", help="environment; default dev")
    graph.add_argument("--output", metavar="FILE", default=None, help="DOT file (`-`: stdout)")
    graph.add_argument("--svg", metavar="FILE", help="also render SVG with Graphviz's `dot`")
    graph.add_argument(
        "--short-node-name", action="store_true", help="label nodes with type and name, not the URN"
    )
    graph.set_defaults(run=cmd_graph)

    validate = commands.add_parser(
        "validate", help="check every stack and project file, report every problem"
    )
    validate.set_defaults(run=cmd_validate)
    for command in (plan, validate, graph):
        command.add_argument(
            "--as-of",
            type=_iso_date,
            metavar="YYYY-MM-DD",
            help="the date the program assumes (new budgets start in its month); default "
            "$MLPLATFORM_AS_OF, else today (UTC)",
        )

    policy = commands.add_parser(
        "policy", help="check a plan against the guardrails and Azure Policy definitions, offline"
    )
    target = policy.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", help="environment whose offline plan to check")
    target.add_argument("--plan", metavar="FILE", help="a saved plan (`plan --json FILE`) to check")
    policy.add_argument(
        "--azure-policy", metavar="DIR", help="Azure Policy definitions (JSON) to evaluate as well"
    )
    policy.add_argument(
        "--pack-config", metavar="FILE", help="also write the stack's levels as --policy-pack-config"
    )
    policy.add_argument("--as-of", type=_iso_date, metavar="YYYY-MM-DD", help="as for plan")
    policy.set_defaults(run=cmd_policy)

    onboard = commands.add_parser("onboard", help="write stacks/projects/NAME.yaml for a new project")
    onboard.add_argument(
        "name", metavar="NAME", help="project name (3-24 lowercase letters, digits, hyphens)"
    )
    onboard.add_argument("--owner", required=True, help="owner's email address (gets budget alerts)")
    onboard.add_argument("--cost-center", default="unassigned", help="cost center (default: unassigned)")
    onboard.add_argument(
        "--environments", metavar="ENV,ENV", help="environments to be in (default: every stack)"
    )
    onboard.add_argument("--budget", type=float, default=1000, help="monthly budget amount (default: 1000)")
    onboard.set_defaults(run=cmd_onboard)

    live = commands.add_parser(
        "check-live",
        help="check role GUIDs, GPU sizes and quota families against a real subscription (needs az login)",
    )
    live.add_argument(
        "--stack", default="dev", help="environment whose region and quota to check; default dev"
    )
    live.add_argument("--subscription", help="subscription id (default: $AZURE_SUBSCRIPTION_ID)")
    live.add_argument(
        "--managed-identity",
        action="store_true",
        help="also try the managed identity (on an Azure VM or runner)",
    )
    live.set_defaults(run=cmd_check_live)
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """`python -m infra` and the `azml-infra` script: each prints its own name in help and errors."""
    name = prog or ("python -m infra" if Path(sys.argv[0]).name == "__main__.py" else Path(sys.argv[0]).name)
    args = build_parser(name).parse_args(argv)
    from infra.config.errors import ConfigError
    from infra.model.budget import AsOfError
    from infra.plan.diff import RefusedChangeError

    try:
        code: int = args.run(args)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_ERROR
    except AsOfError as error:
        print(f"{name}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except CliError as error:
        print(f"{name}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except RefusedChangeError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_REFUSED
    return code
