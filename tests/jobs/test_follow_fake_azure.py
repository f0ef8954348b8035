"""--wait, Ctrl-C and cancel against the fake: real MLClient polling on a fake clock (no sleeping).

The tests assert what the product does (what it prints, its exit code, how long it waits, the
state it leaves the job in), not which requests the SDK sends in which order: an SDK upgrade
that reorders or adds requests must not fail them, a change of behaviour must."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_azure import FakeAzure, Fault, Outage, Run
from fake_cli import dry_run, factory, finetune, run

from jobs.cli import EXIT_FOLLOW_STOPPED, EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_USER_ERROR
from jobs.submit import Polling, WorkspaceJobs, follow
from jobs.targets import Target

RECIPE = "phi3-mini-chat-lora"  # a pipeline job: its steps are listed while following


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


def job_reads(fake: FakeAzure, name: str) -> list[int]:
    """The indexes in `fake.requests` of the reads of job `name` (one or more per poll)."""
    path = f"{fake.workspace_id}/jobs/{name}"
    return [i for i, r in enumerate(fake.requests) if r.method == "GET" and r.path == path]


def test_wait_follows_status_and_nested_steps_with_backoff(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["NotStarted", "Queued", "Queued", "Queued", "Queued", "Running", "Running"]
    fake.timelines[name] += ["Completed"]
    # The catalog pipeline's steps run below its pipeline node, as on the service.
    fake.pipeline_steps(
        name,
        {
            "validation": ["NotStarted"] * 5 + ["Completed"],
            "model_import": ["NotStarted"] * 5 + ["Running", "Completed"],
            "finetune": ["NotStarted"] * 6 + ["Running", "Completed"],
        },
    )
    clock = FakeClock(fake)

    code, out, err = finetune(fake, outputs_file, RECIPE, "--wait", polling=clock.polling())

    assert code == 0, err
    assert [line for line in out.splitlines() if line.startswith("[")] == [
        "[  0m00s] job: new -> NotStarted",
        "[  0m00s] step finetune: new -> NotStarted",
        "[  0m00s] step finetune/validation: new -> NotStarted",
        "[  0m00s] step finetune/model_import: new -> NotStarted",
        "[  0m00s] step finetune/finetune: new -> NotStarted",
        "[  0m05s] job: NotStarted -> Queued",
        "[  0m05s] step finetune: NotStarted -> Queued",
        "[  0m37s] job: Queued -> Running",
        "[  0m37s] step finetune: Queued -> Running",
        "[  0m37s] step finetune/validation: NotStarted -> Completed",
        "[  0m37s] step finetune/model_import: NotStarted -> Running",
        "[  0m42s] step finetune/model_import: Running -> Completed",
        "[  0m42s] step finetune/finetune: NotStarted -> Running",
        "[  0m47s] job: Running -> Completed",
        "[  0m47s] step finetune: Running -> Completed",
        "[  0m47s] step finetune/finetune: Running -> Completed",
    ]
    assert out.endswith(f"{name} completed\n")
    # 5 s after every change, x1.5 while nothing changes, capped at the maximum (10 s here).
    assert clock.slept == [5, 5, 7.5, 10, 10, 5, 5]


def test_a_finished_nodes_steps_are_not_listed_again(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Running"] * 6 + ["Completed"]
    fake.pipeline_steps(name, {"validation": ["Running", "Completed"]})
    fake.runs[f"{name}-node-finetune"].timeline = ["Running", "Completed"]  # the node ends first
    clock = FakeClock(fake)

    code, out, err = finetune(fake, outputs_file, RECIPE, "--wait", polling=clock.polling())

    assert code == 0, err
    assert "step finetune: Running -> Completed" in out and out.endswith(f"{name} completed\n")
    node = f"/runs/{name}-node-finetune/children"
    last_listing = max(i for i, r in enumerate(fake.requests) if r.path.endswith(node))
    # The job was polled on (5 more polls after the one that saw the node end) without listing it.
    assert len([i for i in job_reads(fake, name) if i > last_listing]) >= 5


def test_steps_are_listed_two_levels_deep_after_a_node_that_ended(
    fake: FakeAzure, outputs_file: Path, target: Target
) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Running"] * 9 + ["Completed"]
    fake.pipeline_steps(name, {"validation": ["Running", "Completed"]}, node="prepare")
    fake.runs[f"{name}-node-prepare"].timeline = ["Running", "Completed"]  # ends first: its steps are settled
    fake.pipeline_steps(name, {"finetune": ["Running"] * 8 + ["Completed"]}, node="train")
    # a run below a step (a distributed step's process): below the depth the catalog pipelines use
    rank = f"{name}-rank-0"
    fake.runs[rank] = Run(rank, f"{name}-step-finetune", "rank-0", ["Running", "Completed"])
    clock = FakeClock(fake, now=1000.0)  # a monotonic clock does not start at 0

    code, out, err = finetune(fake, outputs_file, RECIPE, "--wait", polling=clock.polling())

    assert code == 0, err
    assert [line for line in out.splitlines() if line.startswith("[")] == [
        "[  0m00s] job: new -> Running",
        "[  0m00s] step prepare: new -> Running",
        "[  0m00s] step prepare/validation: new -> Running",
        "[  0m00s] step train: new -> Running",
        "[  0m00s] step train/finetune: new -> Running",
        "[  0m05s] step prepare: Running -> Completed",
        "[  0m05s] step prepare/validation: Running -> Completed",
        "[  1m07s] step train/finetune: Running -> Completed",
        "[  1m12s] job: Running -> Completed",
        "[  1m12s] step train: Running -> Completed",
    ]
    # the step's own runs are not even listed
    assert not [r for r in fake.requests if r.path.endswith(f"/runs/{name}-step-finetune/children")]
    # each run once, and the same again from the cache of runs that ended
    jobs, settled = WorkspaceJobs(target, factory(fake)(target, None)), {}
    steps = jobs.steps(name, settled)
    assert [step.path for step in steps] == ["prepare", "prepare/validation", "train", "train/finetune"]
    assert jobs.steps(name, settled) == steps


def test_a_failed_pipeline_shows_the_failing_steps_error(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Running", "Failed"]
    fake.errors[name] = "CUDA out of memory in finetune (rank 0)"
    # The steps of chat_completion_pipeline 0.0.82, named as its spec's jobs are (azureml-assets).
    fake.pipeline_steps(
        name,
        {
            "ft_nlp_common_validation": ["Completed"],
            "chat_completion_model_import": ["Completed"],
            "chat_completion_datapreprocess": ["Completed"],
            "chat_completion_finetune": ["Running", "Failed"],
            "ft_nlp_model_converter": ["NotStarted", "Canceled"],
        },
        failing="chat_completion_finetune",
    )
    clock = FakeClock(fake)

    code, out, err = finetune(fake, outputs_file, RECIPE, "--wait", polling=clock.polling())

    assert code == EXIT_JOB_FAILED == 1
    assert "job: Running -> Failed" in out
    assert "step finetune/chat_completion_finetune: Running -> Failed" in out
    # The root run only says a step failed; the step's own error is the one that explains it.
    assert err == (
        f"error: {name} ended Failed: step finetune/chat_completion_finetune: UserError: CUDA out of "
        "memory in finetune (rank 0); to train again, run the same command with --force-new\n"
    )


@pytest.mark.parametrize("status", ["NotResponding", "Paused"])
def test_not_responding_and_paused_are_followed_through(
    fake: FakeAzure, outputs_file: Path, status: str
) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Running", status, status, "Running", "Completed"]
    clock = FakeClock(fake)

    code, out, err = finetune(fake, outputs_file, RECIPE, "--wait", polling=clock.polling())

    assert code == 0, err
    assert f"job: Running -> {status}" in out and f"job: {status} -> Running" in out
    assert out.endswith(f"{name} completed\n")


def test_wait_retries_transient_read_errors_and_reports_them(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Running", "Running", "Completed"]
    clock = FakeClock(fake)
    assert finetune(fake, outputs_file, RECIPE)[0] == 0
    # Job reads answer 503 during the second poll, whatever azure-core's own retries do meanwhile.
    fake.outages.append(Outage("GET", rf"/jobs/{name}$", 503, start=1, end=2))

    code, out, err = run(fake, outputs_file, "status", name, "--wait", polling=clock.polling())

    assert code == 0, err
    [warning] = [line for line in out.splitlines() if "warning:" in line]
    assert warning == (
        f"[  0m05s] warning: reading job {name}: Azure ML answered 503: (ServiceUnavailable) injected 503; "
        "retrying in 7.5 s (1 of 7 retries)"
    )
    assert clock.slept == [5, 7.5]  # the failed poll backs off as an unchanged one does
    assert out.endswith(f"{name} completed\n")


def test_a_first_read_that_fails_is_the_first_retry_and_time_counts_from_the_start(
    fake: FakeAzure, outputs_file: Path, target: Target
) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Running"] * 9 + ["Completed"]
    assert finetune(fake, outputs_file, RECIPE)[0] == 0
    fake.outages.append(Outage("GET", rf"/jobs/{name}$", 503, start=0, end=1))  # the very first poll
    fake.outages.append(Outage("GET", rf"/jobs/{name}$", 503, start=8, end=9))  # and one after a minute
    clock = FakeClock(fake, now=1000.0)  # a monotonic clock does not start at 0
    out = io.StringIO()

    # `follow` itself: `status --wait` reads the job once before following it
    view = follow(WorkspaceJobs(target, factory(fake)(target, None)), name, out, clock.polling())

    assert view.status == "Completed"
    assert out.getvalue().splitlines() == [
        f"[  0m00s] warning: reading job {name}: Azure ML answered 503: (ServiceUnavailable) injected 503; "
        "retrying in 7.5 s (1 of 7 retries)",
        "[  0m07s] job: new -> Running",
        f"[  1m10s] warning: reading job {name}: Azure ML answered 503: (ServiceUnavailable) injected 503; "
        "retrying in 10 s (1 of 7 retries)",
        "[  1m20s] job: Running -> Completed",
    ]


def test_wait_does_not_give_up_on_a_longer_outage(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Running"] * 9 + ["Completed"]
    assert finetune(fake, outputs_file, RECIPE)[0] == 0
    fake.outages.append(Outage("GET", rf"/jobs/{name}$", 503, start=1, end=8))  # 7 polls fail
    clock = FakeClock(fake)

    code, out, err = run(fake, outputs_file, "status", name, "--wait", polling=clock.polling())

    assert code == 0, err
    warnings = [line for line in out.splitlines() if "warning:" in line]
    assert [w.rsplit("(", 1)[1] for w in warnings] == [f"{n} of 7 retries)" for n in range(1, 8)]
    assert [float(w.split("retrying in ")[1].split(" s")[0]) for w in warnings] == [7.5] + [10.0] * 6
    assert out.endswith(f"{name} completed\n") and err == ""


def test_only_failed_reads_in_a_row_count_towards_giving_up(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Running"] * 14 + ["Completed"]
    assert finetune(fake, outputs_file, RECIPE)[0] == 0
    # Two incidents of 5 failed polls each, one good read between them: 10 failures, never 8 in a row.
    fake.outages += [Outage("GET", rf"/jobs/{name}$", 503, start=1, end=6)]
    fake.outages += [Outage("GET", rf"/jobs/{name}$", 503, start=7, end=12)]
    clock = FakeClock(fake)

    code, out, err = run(fake, outputs_file, "status", name, "--wait", polling=clock.polling())

    assert code == 0, err
    warnings = [line for line in out.splitlines() if "warning:" in line]
    assert [w.rsplit("(", 1)[1] for w in warnings] == [f"{n} of 7 retries)" for n in (1, 2, 3, 4, 5)] * 2
    assert out.endswith(f"{name} completed\n")


def test_wait_stops_after_repeated_failures_and_says_how_to_reattach(
    fake: FakeAzure, outputs_file: Path
) -> None:
    name = job_name(fake, outputs_file)
    assert finetune(fake, outputs_file, RECIPE)[0] == 0
    fake.outages.append(Outage("GET", rf"/jobs/{name}$", 503, start=1, end=1000))
    clock = FakeClock(fake)

    code, out, err = run(fake, outputs_file, "status", name, "--wait", polling=clock.polling())

    assert code == EXIT_FOLLOW_STOPPED == 3
    assert err.startswith(f"error: stopped following {name} after 8 failed reads (")
    assert err.rstrip().endswith(
        f"the job keeps running on Azure ML: re-attach with `azml-jobs status {name} --wait`"
    )
    assert len(err.splitlines()) == 1
    assert len([line for line in out.splitlines() if "warning:" in line]) == 7
    assert fake.cancelled == [] and fake.jobs[name]["properties"]["status"] == "Running"


def test_status_wait_on_an_existing_job(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    assert finetune(fake, outputs_file, RECIPE)[0] == 0
    fake.timelines[name] = ["Running", "Canceled"]
    fake.errors[name] = "Job was canceled by ada@contoso.com"  # not shown: it explains no failure
    clock = FakeClock(fake)

    code, out, err = run(fake, outputs_file, "status", name, "--wait", polling=clock.polling())

    assert code == EXIT_JOB_FAILED
    assert f"{name}  Running" in out and "job: Running -> Canceled" in out
    assert err == f"error: {name} ended Canceled\n"  # no run-history error for a cancelled job


@pytest.mark.parametrize(
    ("status", "code"), [("Running", 0), ("Completed", 0), ("Failed", 1), ("Canceled", 1)]
)
def test_status_exit_code_says_whether_the_job_failed(
    fake: FakeAzure, outputs_file: Path, status: str, code: int
) -> None:
    name = job_name(fake, outputs_file)
    fake.add_job(fake.workspace_id, name, "Pipeline", status)
    fake.errors[name] = "Out of disk"

    exit_code, out, err = run(fake, outputs_file, "status", name)

    assert exit_code == code
    assert out.startswith(f"{name}  {status}")
    if status == "Failed":
        assert err == f"error: {name} ended Failed: UserError: Out of disk\n"
    elif status == "Canceled":
        assert err == f"error: {name} ended Canceled\n"
    else:
        assert err == ""


@pytest.mark.parametrize(
    ("code", "message", "shown"),
    [
        ("UserError", "Out of\n   disk ", "UserError: Out of disk"),
        ("", "Xid 79: GPU has fallen off the bus", "Xid 79: GPU has fallen off the bus"),  # no code
        ("SystemError", "", "SystemError"),
    ],
    ids=["whitespace-folded", "no-code", "no-message"],
)
def test_a_run_error_is_shown_on_one_line_without_empty_parts(
    fake: FakeAzure, outputs_file: Path, code: str, message: str, shown: str
) -> None:
    # run history's RootError has no required field: either part may be missing
    name = job_name(fake, outputs_file)
    fake.add_job(fake.workspace_id, name, "Pipeline", "Failed")
    fake.errors[name], fake.error_codes[name] = message, code

    exit_code, _, err = run(fake, outputs_file, "status", name)

    assert (exit_code, err) == (1, f"error: {name} ended Failed: {shown}\n")


def test_an_unreadable_run_error_names_the_action_and_the_workspace(
    fake: FakeAzure, outputs_file: Path
) -> None:
    name = job_name(fake, outputs_file)
    fake.add_job(fake.workspace_id, name, "Pipeline", "Failed")
    fake.faults.append(Fault("GET", rf"/runs/{name}/details$", 403))

    exit_code, _, err = run(fake, outputs_file, "status", name)

    assert exit_code == EXIT_USER_ERROR  # the identity lacks a role: the user's to mend
    assert err.startswith(
        f"error: reading the error of {name}: access denied on workspace 'mlw-mlp-dev-nlp-research' "
        "(resource group 'rg-mlp-dev-nlp-research', subscription 00000000-0000-0000-0000-000000000000)"
    ), err


@pytest.mark.parametrize("cancel_on_interrupt", [False, True], ids=["detach", "cancel"])
def test_ctrl_c_detaches_or_cancels(fake: FakeAzure, outputs_file: Path, cancel_on_interrupt: bool) -> None:
    name = job_name(fake, outputs_file)
    fake.timelines[name] = ["Queued", "Running"]
    clock = FakeClock(fake, interrupt_at=2)
    extra = ["--cancel-on-interrupt"] if cancel_on_interrupt else []

    code, out, _ = finetune(fake, outputs_file, RECIPE, "--wait", *extra, polling=clock.polling())

    assert code == EXIT_INTERRUPTED == 130
    if cancel_on_interrupt:
        assert f"interrupted: cancel requested for {name}" in out
        assert fake.cancelled == [name]
        # It waited for the cancel operation to end, so the job is Canceled when the command returns.
        assert fake.status(name, "?") == "Canceled"
    else:
        assert f"detached; {name} keeps running (azml-jobs status {name} --wait ...)" in out
        assert fake.cancelled == []
        assert fake.jobs[name]["properties"]["status"] == "Running"


def test_cancel_reaches_the_workspace_job(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    assert finetune(fake, outputs_file, RECIPE)[0] == 0

    code, out, err = run(fake, outputs_file, "cancel", name)

    assert code == 0, err
    assert out == f"cancel requested: {name}\n"
    assert fake.cancelled == [name]
    # The project's workspace's job, and only it, was cancelled...
    assert {r.path for r in fake.requests if r.path.endswith("/cancel")} == {
        f"{fake.workspace_id}/jobs/{name}/cancel"
    }
    # ...and the command waited for the operation to end.
    assert fake.status(name, "?") == "Canceled"


def test_a_cancel_operation_that_fails_is_one_clear_error(fake: FakeAzure, outputs_file: Path) -> None:
    name = job_name(fake, outputs_file)
    assert finetune(fake, outputs_file, RECIPE)[0] == 0
    fake.lro_failures[f"cancel-{name}"] = "Job is in a terminal state and cannot be canceled"

    code, out, err = run(fake, outputs_file, "cancel", name)

    assert code == EXIT_USER_ERROR and out == ""
    assert err.startswith(f"error: cancelling {name}: Azure ML answered 400: ")
    assert "Job is in a terminal state and cannot be canceled" in err and len(err.splitlines()) == 1


def test_cancel_of_an_unknown_job_is_a_clear_error(fake: FakeAzure, outputs_file: Path) -> None:
    code, out, err = run(fake, outputs_file, "cancel", "no-such-job")

    assert code == EXIT_USER_ERROR
    assert out == ""
    assert err.startswith(
        "error: cancelling no-such-job: not found in workspace 'mlw-mlp-dev-nlp-research' "
        "(resource group 'rg-mlp-dev-nlp-research', subscription 00000000-0000-0000-0000-000000000000)"
    )
    assert err.rstrip().endswith(": (ResourceNotFound) job no-such-job not found")  # said once
    assert "Traceback" not in err
    assert fake.cancelled == []


def test_list_reads_every_page_and_keeps_to_the_project(fake: FakeAzure, outputs_file: Path) -> None:
    for index in range(5):
        project = "nlp-research" if index % 2 == 0 else "vision-lab"
        tags = {"project": project, "recipe": f"r{index}"}
        fake.add_job(fake.workspace_id, f"job-{index}", "Pipeline", "Completed", tags)

    code, out, err = run(fake, outputs_file, "list")

    assert code == 0, err
    # 5 jobs, 2 per page: job-4 is on the third page, the other project's are left out.
    assert out.splitlines() == [f"job-{i}  Completed  recipe=r{i}" for i in (0, 2, 4)]


def test_list_that_azure_refuses_says_what_was_being_done(fake: FakeAzure, outputs_file: Path) -> None:
    fake.faults.append(Fault("GET", "/jobs", 404))
    code, out, err = run(fake, outputs_file, "list")
    assert code != 0 and out == ""
    assert err.startswith("error: listing jobs: not found in workspace ")


def test_a_job_without_a_status_reads_as_unknown(target: Target) -> None:
    # `status` is read-only and optional in the job's REST properties; "Unknown" is JobStatus's
    # "default job status if not mapped to all other statuses" (azure-ai-ml, arm_ml_service models)
    job = SimpleNamespace(
        name="job-1", status=None, display_name=None, studio_url="https://studio", tags=None, type="command"
    )
    client = SimpleNamespace(jobs=SimpleNamespace(get=lambda name: job))
    assert WorkspaceJobs(target, client).get("job-1").status == "Unknown"


def test_a_job_without_a_studio_link_gets_the_studios_run_url(target: Target) -> None:
    # The service names the studio link in the job's services; when it does not, the link is the
    # studio's run URL for the workspace (what the service's own links look like).
    job = SimpleNamespace(
        name="job-1", status="Running", display_name=None, studio_url=None, tags=None, type="pipeline"
    )
    client = SimpleNamespace(jobs=SimpleNamespace(get=lambda name: job))
    view = WorkspaceJobs(target, client).get("job-1")
    assert view.studio_url == (
        f"https://ml.azure.com/runs/job-1?wsid=/subscriptions/{target.subscription_id}"
        f"/resourcegroups/{target.resource_group}/workspaces/{target.workspace_name}"
    )
