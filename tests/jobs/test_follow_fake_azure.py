"""--wait, Ctrl-C and cancel against the fake: real MLClient polling on a fake clock (no sleeping)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fake_azure import FakeAzure
from fake_cli import dry_run, finetune, run
from stackdata import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE

from jobs.cli import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_USER_ERROR
from jobs.submit import Polling

RECIPE = "phi3-mini-chat-lora"  # a pipeline job: its steps are listed while following
WORKSPACE_PATH = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
    f"/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
)


@dataclass
class FakeClock:
    """The injected sleep: time passes instantly, on the fake too, and the intervals are recorded."""

    fake: FakeAzure
    now: float = 0.0
    slept: list[float] = field(default_factory=list)
    interrupt_at: int | None = None  # Ctrl-C during this (1-based) sleep

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if len(self.slept) == self.interrupt_at:
            raise KeyboardInterrupt
        self.now += seconds
        self.fake.tick()

    def polling(self) -> Polling:
        return Polling(first_interval=5, max_interval=10, sleep=self.sleep, clock=lambda: self.now)


def job_name(fake: FakeAzure, outputs_file: Path) -> str:
    return dry_run(fake, outputs_file, RECIPE)[0]


def requests_after_submit(fake: FakeAzure, name: str) -> list[str]:
    """What the client asked for once the job was created, as short labels."""
    put = next(
        i for i, r in enumerate(fake.requests) if r.method == "PUT" and r.path.endswith(f"/jobs/{name}")
    )
    labels = {
        f"GET {WORKSPACE_PATH}/jobs/{name}": "get job",
        f"GET {WORKSPACE_PATH}": "get workspace",
        "GET /discovery": "discovery",
        f"GET /history/v1.0{WORKSPACE_PATH}/runs/{name}/children": "list steps",
        f"GET /history/v1.0{WORKSPACE_PATH}/runs/{name}/details": "run details",
        f"POST {WORKSPACE_PATH}/jobs/{name}/cancel": "cancel",
        f"GET /operations/cancel-{name}": "cancel poll",
    }
    seen = [f"{r.method} {r.path}" for r in fake.requests[put + 1 :] if not r.path.startswith("/adfs/")]
    return [labels.get(request, request) for request in seen]


def test_wait_follows_status_and_steps_with_backoff(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = [
        "NotStarted",
        "Queued",
        "Queued",
        "Queued",
        "Queued",
        "Running",
        "Running",
        "Completed",
    ]
    fake.steps[name] = {
        "model_import": ["NotStarted"] * 5 + ["Running", "Completed"],
        "finetune": ["NotStarted"] * 6 + ["Running", "Completed"],
    }
    clock = FakeClock(fake)

    code, out, err = finetune(fake, outputs_file, RECIPE, "--wait", polling=clock.polling())

    assert code == 0, err
    assert [line for line in out.splitlines() if line.startswith("[")] == [
        "[  0m00s] job: new -> NotStarted",
        "[  0m00s] step model_import: new -> NotStarted",
        "[  0m00s] step finetune: new -> NotStarted",
        "[  0m05s] job: NotStarted -> Queued",
        "[  0m37s] job: Queued -> Running",
        "[  0m37s] step model_import: NotStarted -> Running",
        "[  0m42s] step model_import: Running -> Completed",
        "[  0m42s] step finetune: NotStarted -> Running",
        "[  0m47s] job: Running -> Completed",
        "[  0m47s] step finetune: Running -> Completed",
    ]
    assert out.endswith(f"{name} completed\n")
    # 5 s after every change, x1.5 while nothing changes, capped at the maximum (10 s here).
    assert clock.slept == [5, 5, 7.5, 10, 10, 5, 5]
    # Each poll reads the job, then its steps from run history (jobs.list reads the parent again);
    # the workspace's discovery document is fetched once.
    poll = ["get job", "get job", "list steps"]
    assert requests_after_submit(fake, name) == [
        "get job",
        "get job",
        "get workspace",
        "discovery",
        "list steps",
        *poll * 7,
    ]


def test_wait_on_a_failed_job_shows_the_error(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Running", "Failed"]
    fake.errors[name] = "CUDA out of memory in finetune (rank 0)"
    clock = FakeClock(fake)

    code, out, _ = finetune(fake, outputs_file, RECIPE, "--wait", polling=clock.polling())

    assert code == EXIT_JOB_FAILED == 1
    assert "job: Running -> Failed" in out
    assert out.endswith(f"{name} ended Failed\nerror: UserError: CUDA out of memory in finetune (rank 0)\n")
    assert requests_after_submit(fake, name)[-1] == "run details"


def test_status_wait_on_an_existing_job(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    assert finetune(fake, outputs_file, RECIPE)[0] == 0
    fake.timelines[name] = ["Running", "Canceled"]
    clock = FakeClock(fake)

    code, out, _ = run(fake, outputs_file, "status", name, "--wait", polling=clock.polling())

    assert code == EXIT_JOB_FAILED
    assert f"{name}  Running" in out and "job: Running -> Canceled" in out
    assert out.endswith(f"{name} ended Canceled\n")  # no run-history error for a cancelled job
    assert "run details" not in requests_after_submit(fake, name)


@pytest.mark.parametrize("cancel_on_interrupt", [False, True], ids=["detach", "cancel"])
def test_ctrl_c_detaches_or_cancels(fake: FakeAzure, outputs_file: Path, cancel_on_interrupt: bool) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Queued", "Running"]
    clock = FakeClock(fake, interrupt_at=2)
    extra = ["--cancel-on-interrupt"] if cancel_on_interrupt else []

    code, out, _ = finetune(fake, outputs_file, RECIPE, "--wait", *extra, polling=clock.polling())

    assert code == EXIT_INTERRUPTED == 130
    after = requests_after_submit(fake, name)
    if cancel_on_interrupt:
        assert f"interrupted: cancel requested for {name}" in out
        assert fake.cancelled == [name]
        assert after[-2:] == ["cancel", "cancel poll"]  # the poller followed Location to the end
    else:
        assert f"detached; {name} keeps running" in out
        assert fake.cancelled == []
        assert not any("cancel" in request for request in after)
        assert fake.jobs[name]["properties"]["status"] == "Running"


def test_cancel_reaches_the_workspace_job(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    assert finetune(fake, outputs_file, RECIPE)[0] == 0

    code, out, err = run(fake, outputs_file, "cancel", name)

    assert code == 0, err
    assert out == f"cancel requested: {name}\n"
    assert fake.cancelled == [name]
    posts = [r.path for r in fake.requests if r.method == "POST" and "/oauth2/" not in r.path]
    assert posts == [f"{WORKSPACE_PATH}/jobs/{name}/cancel"]
    assert requests_after_submit(fake, name) == ["cancel", "cancel poll"]


def test_cancel_of_an_unknown_job_is_a_clear_error(fake: FakeAzure, outputs_file: Path) -> None:
    code, out, err = run(fake, outputs_file, "cancel", "no-such-job")

    assert code == EXIT_USER_ERROR
    assert out == ""
    assert err.startswith(
        f"error: cancelling no-such-job: not found in workspace {WORKSPACE!r} "
        f"(resource group {RESOURCE_GROUP!r}, subscription {SUBSCRIPTION})"
    )
    assert "job no-such-job not found" in err and "Traceback" not in err
    assert fake.cancelled == []
