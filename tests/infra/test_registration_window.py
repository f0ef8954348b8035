"""Previews construct a few projects at a time; updates never wait (infra/registration_window.py)."""

from __future__ import annotations

import asyncio
import runpy
import threading
from pathlib import Path
from typing import Any

import pulumi
import pytest

from bench.plan_scale import write_environment
from infra.config.loader import Layout, read_stack_config
from infra.plan.offline import PULUMI_PROJECT
from infra.plan.runtime import Plan, PlanMocks, RecordingMonitor, run_program
from infra.registration_window import RegistrationWindow

PROJECTS = 30


class ConstructionCountingMonitor(RecordingMonitor):
    """Records, for every registration the engine receives, how many resources the program had
    constructed by then: the difference is what was pending."""

    def __init__(self) -> None:
        super().__init__(PlanMocks())
        self.constructed = 0
        self.constructed_at_registration: list[int] = []
        self._count = threading.Lock()

    def count(self, args: pulumi.ResourceTransformationArgs) -> None:
        self.constructed += 1  # on the event loop's thread
        return None

    def RegisterResource(self, request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":  # registered before the program constructs anything
            with self._count:
                self.constructed_at_registration.append(self.constructed)
        return super().RegisterResource(request)

    def pending(self) -> list[int]:
        """Constructed but not yet registered, at each registration."""
        return [constructed - index for index, constructed in enumerate(self.constructed_at_registration)]


@pytest.fixture(scope="module")
def many_projects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("window")
    write_environment(root, PROJECTS)
    return root


def _plan(root: Path, *, preview: bool) -> tuple[Plan, ConstructionCountingMonitor]:
    layout = Layout(root)
    config = read_stack_config(layout, "prod")
    monitor = ConstructionCountingMonitor()

    def program() -> None:
        pulumi.runtime.register_stack_transformation(monitor.count)
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")

    plan = run_program(
        program,
        stack="prod",
        project=PULUMI_PROJECT,
        config=config.values,
        secret_keys=config.secret_keys,
        monitor=monitor,
        preview=preview,
    )
    return plan, monitor


@pytest.mark.slow
def test_a_preview_keeps_a_few_projects_pending_and_an_update_everything(many_projects: Path) -> None:
    preview, previewed = _plan(many_projects, preview=True)
    update, updated = _plan(many_projects, preview=False)
    total = len(update.resources)
    # an update constructs every resource before the engine has answered the first registration
    assert updated.pending()[0] == total
    # a preview waits after every batch of projects for the batch before it: at most two batches
    # (and the shared resources, in the first) are ever pending, not the whole stack
    assert len(preview.resources) == total
    assert max(previewed.pending()) < total / 2
    assert previewed.pending()[0] < total / 2


@pytest.mark.slow
def test_preview_and_update_register_the_same_resources(many_projects: Path) -> None:
    preview, _ = _plan(many_projects, preview=True)
    update, _ = _plan(many_projects, preview=False)
    assert [(r.urn, r.inputs, r.dependencies) for r in preview.resources] == [
        (r.urn, r.inputs, r.dependencies) for r in update.resources
    ]
    assert preview.outputs == update.outputs


def test_only_an_enabled_window_watches_the_resources() -> None:
    # outside a program there is no root stack to register a transformation with
    window = RegistrationWindow(enabled=False, projects_per_batch=1)
    asyncio.run(window.project_constructed())
    with pytest.raises(Exception, match="root stack"):
        RegistrationWindow(enabled=True)


def test_batches_hold_at_least_one_project() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RegistrationWindow(enabled=False, projects_per_batch=0)
