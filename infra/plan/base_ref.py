"""The base of a diff from a git ref: that revision's own program and configuration, planned in a
temporary worktree (`git worktree add --detach`), so that the comparison is what the base
branch would deploy, code included, not only its configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from infra.model.budget import AS_OF_VARIABLE
from infra.plan.states import State, StateError, empty_state, from_plan_document


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)


@contextmanager
def worktree(root: Path, ref: str) -> Iterator[Path]:
    """A detached checkout of `ref` beside nothing else, removed afterwards whatever happens."""
    resolved = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if resolved.returncode != 0:
        raise StateError(f"--base {ref}: not a commit in the git repository at {root}")
    with tempfile.TemporaryDirectory(prefix="mlplatform-base-") as temporary:
        path = Path(temporary) / "base"
        added = _git(root, "worktree", "add", "--detach", "--quiet", str(path), resolved.stdout.strip())
        if added.returncode != 0:
            raise StateError(f"--base {ref}: git worktree add failed: {added.stderr.strip()}")
        try:
            yield path
        finally:
            _git(root, "worktree", "remove", "--force", str(path))


def plan_in(checkout: Path, stack: str, ref: str, as_of: date) -> State:
    """The offline plan of `stack` in `checkout`, by that revision's own `python -m infra plan`,
    on the same date as the head (budgets start in the month of the plan date), given as the
    environment variable `pulumi up` reads, which revisions before `--as-of` ignore."""
    source = f"plan of {ref}"
    if not (checkout / "stacks" / f"Pulumi.{stack}.yaml").is_file():
        return empty_state(stack, f"{source} (no stack {stack} there: everything is new)")
    output = checkout / f"plan-{stack}.json"
    run = subprocess.run(
        [sys.executable, "-m", "infra", "plan", "--stack", stack, "--json", str(output)],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, AS_OF_VARIABLE: as_of.isoformat()},
    )
    if run.returncode != 0 or not output.is_file():
        tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-5:])
        raise StateError(
            f"--base {ref}: the plan of stack {stack} there failed (exit {run.returncode}):\n{tail}"
        )
    try:
        document = json.loads(output.read_text())
    except json.JSONDecodeError as error:
        raise StateError(f"--base {ref}: its plan of {stack} is not JSON ({error.msg})") from None
    return from_plan_document(document, source)
