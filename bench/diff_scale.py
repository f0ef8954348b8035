"""How long the plan diff takes beyond computing the two plans, at hundreds of projects.

    uv run python bench/diff_scale.py                  # 300 projects, prod
    uv run python bench/diff_scale.py --sizes 10,300 --stack dev

For each size K it writes the synthetic environment of bench/plan_scale.py with K projects, plans
it (the base, saved as JSON as CI saves it), then changes what a busy pull request changes:
every tenth project scales a cluster, every twentieth gains a reader, one project leaves, one
joins. The head is planned too. Neither plan is timed; the figures are what the diff adds on top:

* read: reading the saved base plan (`--diff-against FILE`);
* diff: every resource compared, replacements, refusals (`diff_states`);
* text / markdown / preview-json: rendering the changes as `plan` prints them, the pull-request
  comment, and the `pulumi preview --json` document.

Target: the total under 1 s at 300 projects. Each figure is the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:  # `python bench/diff_scale.py` puts bench/ first, not the root
    sys.path.insert(0, str(REPOSITORY))

from plan_scale import synthetic_project, write_environment  # noqa: E402  (bench/ is on sys.path)


def _change(root: Path, size: int) -> None:
    projects = root / "stacks" / "projects"
    for index in range(size):
        path = projects / f"{synthetic_project(index)['name']}.yaml"
        project: dict[str, Any] = yaml.safe_load(path.read_text())
        if index == 0:
            path.unlink()  # a project leaves
            continue
        if index % 10 == 1:
            first = next(iter(project["clusters"].values()))
            first["max_nodes"] = max(1, first["max_nodes"] - 1)
        if index % 20 == 2:
            project["access"]["readers"].append(
                {
                    "object_id": f"00000000-0000-4000-8000-{index:012d}",
                    "kind": "User",
                    "name": f"reader-{index}",
                }
            )
        path.write_text(yaml.safe_dump(project, sort_keys=False))
    joined = synthetic_project(size)
    (projects / f"{joined['name']}.yaml").write_text(yaml.safe_dump(joined, sort_keys=False))


def _median(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(size: int, stack: str, repeat: int) -> dict[str, Any]:
    from infra.config.loader import Layout, load_platform
    from infra.plan.diff import diff_states
    from infra.plan.diff_render import principal_directory, render_diff_text, render_markdown, to_preview_json
    from infra.plan.offline import plan_stack
    from infra.plan.render import to_json
    from infra.plan.states import from_plan, read_state

    with tempfile.TemporaryDirectory(prefix="diff-scale-") as temporary:
        root = Path(temporary)
        write_environment(root, size)
        start = time.perf_counter()
        base_file = root / "base.json"
        base_file.write_text(to_json(plan_stack(stack, root)))
        _change(root, size)
        head_plan = plan_stack(stack, root)
        planning = time.perf_counter() - start
        head = from_plan(head_plan)
        principals = principal_directory(load_platform(Layout(root), stack))
        base = read_state(base_file)
        diff = diff_states(base, head)
        resources = {**base.resources, **head.resources}
        figures = {
            "read": _median(lambda: read_state(base_file), repeat),
            "diff": _median(lambda: diff_states(base, head), repeat),
            "text": _median(lambda: render_diff_text(diff, resources, principals), repeat),
            "markdown": _median(lambda: render_markdown(diff, resources, principals), repeat),
            "preview-json": _median(lambda: to_preview_json(diff), repeat),
        }
        counts = diff.counts()
    return {
        "size": size,
        "resources": len(head.resources),
        "planning": planning,
        "counts": counts,
        **figures,
        "total": sum(figures.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="300", help="comma-separated project counts (default 300)")
    parser.add_argument("--stack", default="prod", choices=("dev", "prod"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"stack {args.stack}; seconds beyond computing both plans, median of {args.repeat}\n"
        f"{'K':>4} {'resources':>9} {'changes':>22} {'plans s':>7} {'read':>6} {'diff':>6} {'text':>6} "
        f"{'md':>6} {'json':>6} {'total':>6}"
    )
    for size in (int(part) for part in args.sizes.split(",")):
        row = measure(size, args.stack, args.repeat)
        counts = row["counts"]
        changes = f"+{counts['create']} ~{counts['update']} +-{counts['replace']} -{counts['delete']}"
        print(
            f"{size:>4} {row['resources']:>9} {changes:>22} {row['planning']:>7.1f} {row['read']:>6.3f} "
            f"{row['diff']:>6.3f} {row['text']:>6.3f} {row['markdown']:>6.3f} {row['preview-json']:>6.3f} "
            f"{row['total']:>6.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
