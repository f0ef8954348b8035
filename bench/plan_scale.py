"""How the offline plan scales with the number of onboarded projects.

    uv run python bench/plan_scale.py                 # K = 1, 10, 100, 300
    uv run python bench/plan_scale.py --sizes 1,10    # a quick run

For each K the benchmark writes a synthetic but realistic environment with K onboarded projects
(the file layout the tests' Sandbox uses: stacks/Pulumi.<env>.yaml, stacks/projects/*.yaml and a
copy of __main__.py) into a temporary directory, then measures in a fresh subprocess each:

* program: `plan_stack(<env>, <dir>)`, the real `__main__.py` under the mock runtime;
* floor: the same resources (same types, names, parents and inputs, so the same URNs) registered
  through their pulumi-azure-native classes with plain values, no aliases and no dependencies,
  under the same mock runtime and RecordingMonitor: what registering this resource set with bare
  pulumi-azure-native calls costs. The child checks that it registered exactly the program's inputs;
* sdk floor: the same resources as bare `pulumi.CustomResource` calls (no azure-native class at
  all), shown beside it: the cost of registering that many resources in the Pulumi SDK at all.

Both children import the program's modules (pulumi, the azure-native submodules it uses) before
the clock starts, so wall times compare registration work, not imports. Peak RSS is the child's
own `ru_maxrss`, so it is per K. `--profile DIR` also writes a pyinstrument report per run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:  # `python bench/plan_scale.py` puts bench/ first, not the root
    sys.path.insert(0, str(REPOSITORY))

DEFAULT_SIZES = (1, 10, 100, 300)
FLOORS = ("azure-native", "sdk")
ENVIRONMENTS = ("dev", "prod")

# Cluster shapes a real organisation onboards: cheap T4s for evaluation, V100/A100 for training,
# a few H100 nodes for large models. Every size comes from infra/skus.py.
_CLUSTER_SHAPES: tuple[tuple[str, str, int, str], ...] = (
    ("t4-small", "Standard_NC4as_T4_v3", 4, "LowPriority"),
    ("t4-large", "Standard_NC16as_T4_v3", 2, "LowPriority"),
    ("v100", "Standard_NC6s_v3", 2, "Dedicated"),
    ("v100x4", "Standard_NC24s_v3", 1, "Dedicated"),
    ("a100", "Standard_NC24ads_A100_v4", 2, "Dedicated"),
    ("a100x2", "Standard_NC48ads_A100_v4", 2, "LowPriority"),
    ("a100x4", "Standard_NC96ads_A100_v4", 1, "Dedicated"),
    ("h100", "Standard_NC40ads_H100_v5", 1, "Dedicated"),
)
_TEAMS = ("nlp", "vision", "speech", "recsys", "fraud", "forecast", "search", "genai", "ocr", "risk")


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(str(part) for part in parts)))


def _principal(project: str, role: str, index: int, kind: str) -> dict[str, str]:
    return {
        "object_id": _guid("bench", project, role, index),
        "kind": kind,
        "name": f"{kind.lower()}-{project}-{role}-{index}",
    }


def synthetic_project(index: int) -> dict[str, Any]:
    """Project `index`: 2 GPU clusters of varied sizes, every access role, a budget and per-env overrides."""
    team = _TEAMS[index % len(_TEAMS)]
    name = f"{team}-p{index:04d}"
    first = _CLUSTER_SHAPES[index % len(_CLUSTER_SHAPES)]
    second = _CLUSTER_SHAPES[(index * 3 + 1) % len(_CLUSTER_SHAPES)]
    if second[0] == first[0]:
        second = _CLUSTER_SHAPES[(index * 3 + 2) % len(_CLUSTER_SHAPES)]
    clusters = {
        shape[0]: {
            "vm_size": shape[1],
            "max_nodes": shape[2],
            "priority": shape[3],
            **({"idle_minutes": 10 + index % 50} if index % 2 else {}),
        }
        for shape in (first, second)
    }
    prod_override: dict[str, Any] = {"budget": {"monthly_amount": 10000 + 500 * (index % 20)}}
    if index % 3 == 0:  # a bigger size in production
        prod_override["clusters"] = {first[0]: {"max_nodes": first[2] * 2, "idle_minutes": 30}}
    return {
        "name": name,
        "description": f"Synthetic benchmark project {index} of team {team}.",
        "owner": f"{team}-lead@contoso.com",
        "cost_center": f"CC-{2000 + index % 97}",
        "tags": {"team": team},
        "clusters": clusters,
        "access": {
            "data_scientists": [
                _principal(name, "ds", 0, "Group"),
                *([_principal(name, "ds", 1, "User")] if index % 4 == 0 else []),
            ],
            "compute_operators": [_principal(name, "ops", 0, "Group")],
            "readers": [_principal(name, "read", 0, "Group")],
            "ci_deployers": [_principal(name, "ci", 0, "ServicePrincipal")],
        },
        "budget": {
            "monthly_amount": 2000 + 100 * (index % 30),
            "contact_emails": [f"{team}-lead@contoso.com"],
        },
        "environments": {
            "dev": {"clusters": {second[0]: {"max_nodes": 1}}},
            "prod": prod_override,
        },
    }


def _example_environment(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((REPOSITORY / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    environment: dict[str, Any] = document["config"]["mlplatform:environment"]
    return environment


def _quota(projects: list[dict[str, Any]]) -> dict[str, int]:
    """Twice the vCPUs every cluster could scale to, per VM family, in any environment."""
    from infra.skus import require_sku

    need: dict[str, int] = {}
    for project in projects:
        for cluster in project["clusters"].values():
            sku = require_sku(cluster["vm_size"])
            need[sku.family] = need.get(sku.family, 0) + sku.vcpus * cluster["max_nodes"] * 2
    return {family: vcpus * 2 for family, vcpus in sorted(need.items())}


def write_environment(root: Path, size: int, keep_legacy_aliases: bool = False) -> None:
    """A repository layout with both example environments and `size` onboarded projects."""
    (root / "stacks" / "projects").mkdir(parents=True)
    shutil.copy(REPOSITORY / "__main__.py", root / "__main__.py")
    projects = [synthetic_project(index) for index in range(size)]
    for stack in ENVIRONMENTS:
        environment = _example_environment(stack)
        environment["gpu_quota"] = _quota(projects)
        if keep_legacy_aliases:
            environment["keep_legacy_aliases"] = True
        config = {"azure-native:location": environment["location"], "mlplatform:environment": environment}
        (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(
            yaml.safe_dump({"config": config}, sort_keys=False)
        )
    for project in projects:
        path = root / "stacks" / "projects" / f"{project['name']}.yaml"
        path.write_text(yaml.safe_dump(project, sort_keys=False))


# --- children ---------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _profiled(profile: str | None, run: Any) -> Any:
    if not profile:
        return run()
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        return run()
    finally:
        profiler.stop()
        Path(profile).write_text(profiler.output_text(unicode=False, color=False, show_all=False))


def load_program_modules() -> float:
    """Import the program and load the azure-native submodules it uses (they load lazily, on first
    attribute access; `network` alone takes seconds). Returns the seconds it took: a fixed cost
    of every run, which the table reports apart from the per-resource work."""
    import types

    start = time.perf_counter()
    import infra.entrypoint  # noqa: F401
    from infra import components, program
    from infra.components import cluster, interfaces, project, shared

    for module in (program, components, cluster, interfaces, project, shared):
        for value in list(vars(module).values()):
            if isinstance(value, types.ModuleType) and value.__name__.startswith("pulumi_azure_native."):
                getattr(value, "__all__", None)  # any attribute access loads a lazy module
    return time.perf_counter() - start


def _seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def stage_seconds(root: Path, stack: str, plan: Any, scratch: Path) -> dict[str, float]:
    """The steps of `python -m infra validate` and `plan` around the program, each timed alone, so
    that growth in any of them shows: validate (every stack and project file: parsing, models,
    naming, the access/quota/budget policies), sections (the policy tables in the plan), render (the
    text and the JSON plan), diff (`--diff-against` a saved plan of the same resources, so every
    resource's inputs and options are compared)."""
    from infra.config.loader import Layout, load_platform, validate_all
    from infra.model import resolve
    from infra.model.budget import as_of_date
    from infra.plan.diff import diff_states
    from infra.plan.fake_ids import FAKE_SUBSCRIPTION, FAKE_TENANT
    from infra.plan.render import render_text, to_json
    from infra.plan.sections import plan_sections
    from infra.plan.states import from_plan, read_state

    layout = Layout(root)
    seconds = {"validate": _seconds(lambda: validate_all(layout))}
    platform = load_platform(layout, stack)
    sections: list[Any] = []
    seconds["sections"] = _seconds(
        lambda: sections.extend(
            plan_sections(
                resolve(platform, subscription=FAKE_SUBSCRIPTION, tenant=FAKE_TENANT, as_of=as_of_date())
            )
        )
    )
    seconds["render"] = _seconds(lambda: (render_text(plan, sections), to_json(plan)))
    base = scratch / "base-plan.json"
    base.write_text(to_json(plan))
    seconds["diff"] = _seconds(lambda: diff_states(read_state(base), from_plan(plan)))
    return seconds


def child_program(root: Path, stack: str, dump: Path, profile: str | None) -> dict[str, Any]:
    load = load_program_modules()
    from infra.plan.offline import plan_stack

    start = time.perf_counter()
    plan = _profiled(profile, lambda: plan_stack(stack, root))
    wall = time.perf_counter() - start
    resources = [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "custom": r.custom,
            "inputs": r.inputs,
        }
        for r in plan.resources
    ]
    dump.write_text(json.dumps({"stack": stack, "project": plan.project, "resources": resources}))
    rss_mb = _peak_rss_mb()  # of the plan itself, before the stages below add their own copies
    return {
        "resources": len(plan.resources),
        "aliases": sum(len(r.aliases) for r in plan.resources),
        "wall": wall,
        "load": load,
        "rss_mb": rss_mb,
        "stages": stage_seconds(root, stack, plan, dump.parent),
    }


def _sdk_properties(token: str) -> dict[str, None]:
    """Every property the azure-native class of `token` registers (its outputs start as None), so
    the floor transfers and resolves as many properties per resource as the SDK class does."""
    import importlib

    _, module, name = token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    names: dict[str, None] = {}
    for attribute in vars(cls).values():
        getter = getattr(attribute, "fget", None)
        wire = getattr(getter, "_pulumi_name", None)
        if isinstance(wire, str):
            names[wire] = None
    return names


def _args_names(token: str) -> tuple[type, dict[str, str]]:
    """The azure-native class of `token` and its Args class's wire name -> keyword argument map."""
    import importlib

    _, module, name = token.split(":")
    package = importlib.import_module(f"pulumi_azure_native.{module}")
    names = {}
    for attribute_name, attribute in vars(getattr(package, f"{name}Args")).items():
        wire = getattr(getattr(attribute, "fget", None), "_pulumi_name", None)
        if isinstance(wire, str):
            # the constructor's first parameter is the logical `resource_name`; a physical name of
            # the same spelling is the keyword `resource_name_`
            names[wire] = "resource_name_" if attribute_name == "resource_name" else attribute_name
    return getattr(package, name), names


def _drop_every_alias(args: Any) -> Any:
    import pulumi

    if not args.opts.aliases:
        return None
    opts = args.opts._copy()
    opts.aliases = None
    return pulumi.ResourceTransformationResult(args.props, opts)


def child_floor(dump: Path, profile: str | None, kind: str) -> dict[str, Any]:
    """Register the program's resources again, as plainly as possible.

    kind "azure-native" (the floor the targets use): each resource through its pulumi-azure-native
    class with its recorded inputs as plain values, no aliases (every alias dropped), no
    dependencies, components as bare ComponentResources. kind "sdk": bare pulumi.CustomResource
    with the class's full property set, below what any azure-native program can reach.
    """
    load_program_modules()  # the same imports as the program child
    import pulumi

    from infra.plan.runtime import PlanMocks, RecordingMonitor, run_program
    from infra.runtime_tuning import tune_runtime

    # The program tunes the collector and replaces the SDK's garbage-making `contains_unknowns`
    # (infra/runtime_tuning.py); the floors get the same, so that the ratio measures what the
    # program adds, not a process setting or an SDK fix.
    tune_runtime()
    recorded = json.loads(dump.read_text())
    by_urn = {resource["urn"]: resource for resource in recorded["resources"]}

    def depth(resource: dict[str, Any]) -> int:
        level = 0
        while resource["parent"] in by_urn:
            resource = by_urn[resource["parent"]]
            level += 1
        return level

    ordered = sorted(recorded["resources"], key=depth)
    types = {r["type"] for r in ordered if r["custom"]}
    properties = {token: _sdk_properties(token) for token in types}
    classes = {token: _args_names(token) for token in types}

    def register(resource: dict[str, Any], opts: pulumi.ResourceOptions | None) -> pulumi.Resource:
        if not resource["custom"]:
            return pulumi.ComponentResource(resource["type"], resource["name"], None, opts)
        if kind == "sdk":
            props = {**properties[resource["type"]], **resource["inputs"]}
            return pulumi.CustomResource(resource["type"], resource["name"], props, opts)
        cls, names = classes[resource["type"]]
        arguments = {names[key]: value for key, value in resource["inputs"].items()}
        resource_class: Any = cls
        return resource_class(resource["name"], opts=opts, **arguments)

    def program() -> None:
        if kind == "azure-native":
            pulumi.runtime.register_stack_transformation(_drop_every_alias)
        created: dict[str, pulumi.Resource] = {}
        for resource in ordered:
            parent = created.get(resource["parent"])
            opts = pulumi.ResourceOptions(parent=parent) if parent is not None else None
            created[resource["urn"]] = register(resource, opts)

    monitor = RecordingMonitor(PlanMocks())
    start = time.perf_counter()
    plan = _profiled(
        profile,
        lambda: run_program(
            program, stack=recorded["stack"], project=recorded["project"], config={}, monitor=monitor
        ),
    )
    wall = time.perf_counter() - start
    registered = {resource.urn: resource for resource in plan.resources}
    missing = set(by_urn) - set(registered)
    if missing:
        raise SystemExit(f"the floor did not register {len(missing)} resources, e.g. {sorted(missing)[0]}")
    if kind == "azure-native":
        differing = [
            urn for urn, r in by_urn.items() if r["custom"] and registered[urn].inputs != r["inputs"]
        ]
        if differing:
            raise SystemExit(
                f"the floor registered other inputs than the program for {len(differing)}, e.g. {differing[0]}"
            )
    return {"resources": len(plan.resources), "wall": wall, "rss_mb": _peak_rss_mb()}


# --- driver -----------------------------------------------------------------------------------


def _run_child(*args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if completed.returncode != 0:
        raise SystemExit(f"benchmark child {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time, with every run's wall time and the peak RSS of all."""
    ordered = sorted(runs, key=lambda run: run["wall"])
    median = dict(ordered[len(ordered) // 2])
    median["walls"] = [run["wall"] for run in runs]
    median["rss_mb"] = max(run["rss_mb"] for run in runs)
    if "stages" in median:
        median["stages"] = {
            stage: statistics.median(run["stages"][stage] for run in runs) for stage in median["stages"]
        }
    return median


def measure(
    size: int, stack: str, profile_dir: Path | None, keep_legacy_aliases: bool, repeat: int
) -> dict[str, Any]:
    """Each measurement `repeat` times, each in a fresh process; the median counts. Two cores shared
    by the event loop and the SDK's executor threads make single runs vary by 20% or more."""
    with tempfile.TemporaryDirectory(prefix=f"plan-scale-{size}-") as temp:
        root = Path(temp)
        write_environment(root, size, keep_legacy_aliases)
        dump = root / "recorded.json"
        runs: dict[str, list[dict[str, Any]]] = {"program": [], **{kind: [] for kind in FLOORS}}
        for attempt in range(repeat):
            profile = (
                []
                if profile_dir is None or attempt
                else ["--profile", str(profile_dir / f"program-{stack}-{size}.txt")]
            )
            runs["program"].append(
                _run_child(
                    "--child", "program", "--root", str(root), "--stack", stack, "--dump", str(dump), *profile
                )
            )
            for kind in FLOORS:
                profile = (
                    []
                    if profile_dir is None or attempt
                    else ["--profile", str(profile_dir / f"floor-{kind}-{stack}-{size}.txt")]
                )
                runs[kind].append(
                    _run_child("--child", "floor", "--floor", kind, "--dump", str(dump), *profile)
                )
    return {
        "size": size,
        "program": _median_run(runs["program"]),
        "floor": _median_run(runs["azure-native"]),
        "sdk_floor": _median_run(runs["sdk"]),
    }


def _spread(run: dict[str, Any]) -> str:
    walls = run["walls"]
    return f"{min(walls):.1f}-{max(walls):.1f}"


def table(rows: list[dict[str, Any]], stack: str, note: str = "") -> str:
    repeat = len(rows[0]["program"]["walls"]) if rows else 0
    header = (
        f"offline plan of the {stack} stack{note}, K onboarded projects; median of {repeat} runs, each in a\n"
        "fresh process (range: fastest-slowest). load s: importing the program and the azure-native\n"
        "modules it uses, before the clock. floor: the same resources through their azure-native\n"
        "classes, plain values, no aliases; sdk floor: as bare pulumi.CustomResource calls.\n"
        f"{'K':>4} {'resources':>9} {'aliases':>7} {'load s':>6} {'wall s':>7} {'range':>9} {'ms/res':>6} "
        f"{'RSS MB':>6} {'floor s':>7} {'range':>9} {'ratio':>5} {'sdk s':>6} {'sdk ratio':>9}"
    )
    lines = [header]
    for row in rows:
        program, floor, sdk = row["program"], row["floor"], row["sdk_floor"]
        count = program["resources"]
        lines.append(
            f"{row['size']:>4} {count:>9} {program['aliases']:>7} {program['load']:>6.2f} {program['wall']:>7.2f} "
            f"{_spread(program):>9} {1000 * program['wall'] / count:>6.2f} {program['rss_mb']:>6.0f} "
            f"{floor['wall']:>7.2f} {_spread(floor):>9} {program['wall'] / floor['wall']:>5.2f} "
            f"{sdk['wall']:>6.2f} {program['wall'] / sdk['wall']:>9.2f}"
        )
    lines += ["", stage_table(rows)]
    return "\n".join(lines)


def stage_table(rows: list[dict[str, Any]]) -> str:
    """Per stage: seconds and milliseconds per project (validate, sections) or per resource."""
    header = (
        "the steps around the program (median): validate = every stack and project file (models,\n"
        "naming, policies); sections = the plan's policy tables; render = text and JSON plan;\n"
        "diff = --diff-against a saved plan of the same resources.\n"
        f"{'K':>4} {'validate s':>10} {'ms/proj':>7} {'sections s':>10} {'ms/proj':>7} "
        f"{'render s':>8} {'ms/res':>6} {'diff s':>6} {'ms/res':>6}"
    )
    lines = [header]
    for row in rows:
        stages, count, size = row["program"]["stages"], row["program"]["resources"], row["size"]
        per_project = {stage: 1000 * stages[stage] / size for stage in ("validate", "sections")}
        per_resource = {stage: 1000 * stages[stage] / count for stage in ("render", "diff")}
        lines.append(
            f"{size:>4} {stages['validate']:>10.3f} {per_project['validate']:>7.2f} "
            f"{stages['sections']:>10.3f} {per_project['sections']:>7.2f} "
            f"{stages['render']:>8.3f} {per_resource['render']:>6.3f} "
            f"{stages['diff']:>6.3f} {per_resource['diff']:>6.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="numbers of projects, e.g. 1,10"
    )
    parser.add_argument(
        "--stack", default="prod", choices=ENVIRONMENTS, help="environment to plan (default prod)"
    )
    parser.add_argument("--profile", type=Path, help="write pyinstrument reports to this directory")
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON")
    parser.add_argument(
        "--keep-legacy-aliases",
        action="store_true",
        help="set keep_legacy_aliases: true in the synthetic environments (a migrated stack)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the median counts (default 3)"
    )
    parser.add_argument("--child", choices=("program", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floor", choices=FLOORS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child == "program":
        print(json.dumps(child_program(args.root, args.stack, args.dump, args.profile and str(args.profile))))
        return 0
    if args.child == "floor":
        print(json.dumps(child_floor(args.dump, args.profile and str(args.profile), args.floor)))
        return 0

    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in sizes:
        rows.append(measure(size, args.stack, args.profile, args.keep_legacy_aliases, args.repeat))
        print(f"K={size}: done", file=sys.stderr, flush=True)
    print(table(rows, args.stack, " with keep_legacy_aliases: true" if args.keep_legacy_aliases else ""))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
