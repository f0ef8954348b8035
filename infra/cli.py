"""`python -m infra`: the offline plan and configuration checks for platform engineers.

Heavy modules (pulumi, the Azure SDK) are imported inside the commands that need them, so
`--help` and `validate` start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root).resolve()


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _as_of(args: argparse.Namespace) -> date:
    from infra.model.budget import as_of_date

    return args.as_of or as_of_date()


def cmd_plan(args: argparse.Namespace) -> int:
    from infra.config.loader import Layout, load_platform
    from infra.model import resolve
    from infra.plan.fake_ids import FAKE_SUBSCRIPTION, FAKE_TENANT
    from infra.plan.offline import plan_stack
    from infra.plan.render import render_text, to_json
    from infra.plan.sections import plan_sections

    root = _root(args)
    as_of = _as_of(args)
    platform = load_platform(Layout(root), args.stack, as_of=as_of)
    plan = plan_stack(args.stack, root, as_of=as_of)
    if args.json:
        Path(args.json).write_text(to_json(plan))
    model = resolve(platform, subscription=FAKE_SUBSCRIPTION, tenant=FAKE_TENANT, as_of=as_of)
    sections = plan_sections(model)
    if args.diff_against:
        from infra.plan.diff import check_protected, diff_plans, render_diff
        from infra.plan.render import Section

        diff = diff_plans(Path(args.diff_against), plan)
        sections = [Section(f"Changes against {args.diff_against}", render_diff(diff)), *sections]
    sys.stdout.write(render_text(plan, sections))
    if args.json:
        print(f"Full plan written to {args.json}")
    if args.diff_against:
        check_protected(diff)
    from infra.guardrails.command import check_recorded  # issue 11: the guardrails on this plan

    return check_recorded(plan, root, as_of=as_of)


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
        return 2
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
        return 4
    findings = run(platform.environment.location, platform.environment.gpu_quota, subscription, get_json)
    for finding in findings:
        print(finding)
    failed = [f for f in findings if not f.ok]
    print(f"{len(findings) - len(failed)} facts hold, {len(failed)} do not")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra",
        description="Azure ML platform: offline plan and configuration checks (no cloud credentials needed).",
    )
    parser.add_argument("--root", default=".", help="repository root (default: current directory)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plan = commands.add_parser("plan", help="show what a stack would create, offline")
    plan.add_argument("--stack", default="dev", help="environment (stacks/Pulumi.<stack>.yaml); default dev")
    plan.add_argument("--json", metavar="FILE", help="also write the full plan as JSON to FILE")
    plan.add_argument(
        "--diff-against",
        metavar="BASE_JSON",
        help="show what changes against an earlier plan (--json of the base branch); "
        "fails when protected resources would be deleted",
    )
    plan.set_defaults(run=cmd_plan)

    validate = commands.add_parser(
        "validate", help="check every stack and project file, report every problem"
    )
    validate.set_defaults(run=cmd_validate)
    for command in (plan, validate):
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from infra.config.errors import ConfigError
    from infra.model.budget import AsOfError
    from infra.plan.diff import ProtectedDeletionError

    try:
        code: int = args.run(args)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except AsOfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ProtectedDeletionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    return code
