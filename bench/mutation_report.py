"""The mutation report of `make mutate`: kill rate per module and every surviving mutant.

Reads what `mutmut run` left in mutants/ through `mutmut results --all true`. Timeouts count as
killed (the mutant made the tests hang, which a run notices), as mutmut's own score does, and so
do mutants mypy refuses (`make test` type-checks before any test runs); the "by mypy" column
shows how many of the killed were caught that way.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict

TYPE_CHECKED = "caught by type check"
KILLED = {"killed", "timeout", TYPE_CHECKED}
# "no tests": no test runs the mutated function, so nothing can notice it: a survivor.
NOT_RUN = {"skipped", "not checked"}


def module_of(mutant: str) -> str:
    # mutmut names a mutant `<module>.x_<function>__mutmut_<n>` (methods: `<module>.xǁClassǁ...`)
    head = mutant.split("__mutmut_")[0]
    return head.rsplit(".", 1)[0]


def main() -> int:
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"], capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"mutmut results failed: {done.stderr.strip()}", file=sys.stderr)
        return 2
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in done.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        module = module_of(name)
        by_module[module][status] += 1
        if status not in KILLED | NOT_RUN:
            survivors[module].append(f"{name} ({status})")
    if not by_module:
        print("no mutants found: run `make mutate` first")
        return 1
    total_killed = total_run = total_typed = 0
    # "not run": mutants a run stopped before (interrupted, or narrowed by MUTATE=); the kill rate
    # is of the mutants that ran
    print(
        f"{'module':45} {'mutants':>8} {'not run':>8} {'killed':>7} {'by mypy':>8} {'survived':>9} {'kill rate':>10}"
    )
    not_run = []
    for module, counts in sorted(by_module.items()):
        run = sum(n for status, n in counts.items() if status not in NOT_RUN)
        if not run:
            not_run.append(module)
            continue
        killed = sum(counts[status] for status in KILLED)
        typed = counts[TYPE_CHECKED]
        total_run, total_killed, total_typed = total_run + run, total_killed + killed, total_typed + typed
        rate = f"{100 * killed / run:.1f}%" if run else "-"
        total = sum(counts.values())
        print(f"{module:45} {total:8} {total - run:8} {killed:7} {typed:8} {run - killed:9} {rate:>10}")
    if not_run:
        print(f"not run (MUTATE narrowed the run): {', '.join(not_run)}")
    print(
        f"{'total':45} {'':8} {'':8} {total_killed:7} {total_typed:8} {total_run - total_killed:9}"
        f" {100 * total_killed / max(total_run, 1):9.1f}%"
    )
    for module, names in sorted(survivors.items()):
        print(f"\nsurvivors in {module} (`mutmut show NAME` prints the change):")
        for name in names:
            print(f"  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
