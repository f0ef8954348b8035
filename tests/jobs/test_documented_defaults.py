"""Every default docs/jobs.md states ("Defaults") is what the commands do when their options leave
it out: the docs' table is read, and each row is checked against the intervals `--wait` sleeps,
the bodies `deploy --dry-run` prints, the requests the commands send and what they print."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fake_azure import FakeAzure, Outage
from fake_cli import dry_run, finetune, run
from stackdata import REPO
from test_deploy import A100, MODEL, NEW, live_endpoint
from test_follow_fake_azure import FakeClock

from jobs.cli import EXIT_FOLLOW_STOPPED
from jobs.deploy import wait_for
from jobs.submit import Polling
from tests.markdown import table_rows

DOCS = REPO / "docs" / "jobs.md"


DOCS_DEFAULTS = table_rows(DOCS, "Defaults")


def documented(setting: str) -> str:
    return DOCS_DEFAULTS[setting]


def seconds(setting: str) -> float:
    """A row given in seconds ("600 s")."""
    value = documented(setting)
    assert value.endswith(" s"), f"{setting}: {value!r} is not in seconds"
    return float(value.removesuffix(" s"))


def iso_seconds(duration: str) -> float:
    """An ISO 8601 duration of the REST bodies (PT10M, PT1M30S) in seconds."""
    found = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", duration)
    assert found, duration
    hours, minutes, secs = (float(part or 0) for part in found.groups())
    return hours * 3600 + minutes * 60 + secs


def test_the_docs_list_the_defaults() -> None:
    assert len(DOCS_DEFAULTS) >= 15


def polling_with_the_defaults(clock: FakeClock) -> Polling:
    """The CLI's polling (`Polling()`, what `--wait` uses when no program passes another), on the
    tests' clock instead of real time."""
    return dataclasses.replace(Polling(), sleep=clock.sleep, clock=lambda: clock.now)


def test_wait_backs_off_as_documented(fake: FakeAzure, outputs_file: Path) -> None:
    name = dry_run(fake, outputs_file, "phi3-mini-chat-lora")[0]
    fake.timelines[name] = ["Running"] * 12 + ["Completed"]
    assert finetune(fake, outputs_file, "phi3-mini-chat-lora")[0] == 0
    clock = FakeClock(fake)

    code, _, err = run(fake, outputs_file, "status", name, "--wait", polling=polling_with_the_defaults(clock))

    assert code == 0, err
    first, factor, cap = (
        seconds("--wait first interval"),
        float(documented("--wait backoff factor")),
        seconds("--wait interval cap"),
    )
    expected = [first]  # after the first poll saw the job (a change)
    while len(expected) < 12:
        expected.append(min(expected[-1] * factor, cap))
    assert clock.slept == pytest.approx(expected)
    assert max(clock.slept) == cap  # reached, never passed


def test_wait_gives_up_after_the_documented_failed_reads(fake: FakeAzure, outputs_file: Path) -> None:
    name = dry_run(fake, outputs_file, "phi3-mini-chat-lora")[0]
    assert finetune(fake, outputs_file, "phi3-mini-chat-lora")[0] == 0
    fake.outages.append(Outage("GET", rf"/jobs/{name}$", 503, start=1, end=10_000))
    clock = FakeClock(fake)

    code, out, err = run(
        fake, outputs_file, "status", name, "--wait", polling=polling_with_the_defaults(clock)
    )

    limit = int(documented("--wait failed reads in a row"))
    assert code == EXIT_FOLLOW_STOPPED
    assert err.startswith(f"error: stopped following {name} after {limit} failed reads (")
    assert len([line for line in out.splitlines() if "warning:" in line]) == limit - 1


def test_list_shows_the_documented_number_of_jobs(fake: FakeAzure, outputs_file: Path) -> None:
    limit = int(documented("list --max"))
    for index in range(limit + 5):
        fake.add_job(
            fake.workspace_id, f"job-{index:02d}", "Pipeline", "Completed", {"project": "nlp-research"}
        )
    code, out, err = run(fake, outputs_file, "list")
    assert code == 0, err
    assert len(out.splitlines()) == limit


def deploy_dry_run(
    fake: FakeAzure, outputs_file: Path, *extra: str
) -> tuple[list[str], list[dict[str, Any]]]:
    """The `# ...` headers and the JSON bodies `deploy --dry-run` prints."""
    code, out, err = run(
        fake,
        outputs_file,
        "deploy",
        MODEL,
        "--endpoint",
        "nlp-chat",
        "--instance-type",
        A100,
        "--dry-run",
        *extra,
    )
    assert code == 0, err
    headers = [line for line in out.splitlines() if line.startswith("# ")]
    bodies = [json.loads(part.split("\n", 1)[1]) for part in out.split("\n# ")[:3] if "\n" in part]
    return headers, bodies


def test_deploy_options_default_to_the_documented_values(fake: FakeAzure, outputs_file: Path) -> None:
    defaults = deploy_dry_run(fake, outputs_file)
    explicit = deploy_dry_run(
        fake,
        outputs_file,
        "--instance-count",
        documented("deploy --instance-count"),
        "--traffic",
        documented("deploy --traffic"),
        "--auth-mode",
        documented("deploy --auth-mode"),
    )
    assert defaults == explicit
    headers, (endpoint, deployment, _) = defaults
    assert deployment["sku"]["capacity"] == int(documented("deploy --instance-count"))
    assert f"with traffic {NEW}={documented('deploy --traffic')}%" in headers[3]
    assert (
        documented("deploy --auth-mode") == "aad_token" and endpoint["properties"]["authMode"] == "AADToken"
    )


def test_deployments_get_the_documented_probes_and_request_timeout(
    fake: FakeAzure, outputs_file: Path
) -> None:
    _, (_, deployment, _) = deploy_dry_run(fake, outputs_file)
    properties = deployment["properties"]
    found = {
        "liveness probe initial delay": iso_seconds(properties["livenessProbe"]["initialDelay"]),
        "readiness probe initial delay": iso_seconds(properties["readinessProbe"]["initialDelay"]),
        "probe period": {iso_seconds(properties[p]["period"]) for p in ("livenessProbe", "readinessProbe")},
        "probe timeout": {iso_seconds(properties[p]["timeout"]) for p in ("livenessProbe", "readinessProbe")},
        "request timeout": iso_seconds(properties["requestSettings"]["requestTimeout"]),
    }
    expected = {
        key: {seconds(key)} if isinstance(value, set) else seconds(key) for key, value in found.items()
    }
    assert found == expected


class SlowPoller:
    """A long-running operation that ends after `polls` waits, on a clock the waits advance."""

    def __init__(self, polls: int) -> None:
        self.polls = polls
        self.now = 0.0
        self.waits: list[float] = []

    def done(self) -> bool:
        return len(self.waits) >= self.polls

    def wait(self, timeout: float) -> None:
        self.waits.append(timeout)
        self.now += timeout

    def result(self) -> str:
        return "created"


def test_long_waits_report_progress_at_the_documented_interval() -> None:
    import io

    poller, out = SlowPoller(polls=3), io.StringIO()
    assert wait_for(poller, "deployment d", out, clock=lambda: poller.now) == "created"
    interval = seconds("progress interval")
    assert poller.waits == [interval] * 3
    minutes, secs = divmod(int(2 * interval), 60)
    assert out.getvalue().splitlines()[-1] == f"[{minutes:3d}m{secs:02d}s] deployment d: still running"


def test_a_failed_rollout_prints_the_documented_log_tail(fake: FakeAzure, outputs_file: Path) -> None:
    name, version = MODEL.split(":")
    fake.models[f"{name}/{version}"] = {}  # registered in the workspace
    live_endpoint(fake)
    fake.lro_failures[f"nlp-chat/deployments/{NEW}"] = "Not enough quota"
    fake.deployment_logs[f"nlp-chat/deployments/{NEW}"] = "\n".join(f"line {i}" for i in range(200))
    code, _, err = run(fake, outputs_file, "deploy", MODEL, "--endpoint", "nlp-chat", "--instance-type", A100)
    lines = int(documented("log lines on a failed rollout"))
    assert code == 1
    [logs] = [r for r in fake.requests if r.path.endswith("/getLogs")]
    assert logs.body["tail"] == lines
    assert f"--- last {lines} log lines of nlp-chat/{NEW} ---" in err
    assert f"line {200 - lines}\n" in err and f"line {199 - lines}\n" not in err


def test_endpoint_logs_show_the_documented_tail(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake)
    fake.deployment_logs["nlp-chat/deployments/blue"] = "\n".join(f"line {i}" for i in range(500))
    code, out, err = run(fake, outputs_file, "endpoints", "logs", "nlp-chat", "--deployment", "blue")
    assert code == 0, err
    assert len(out.splitlines()) == int(documented("endpoints logs --lines"))


def test_instance_hours_count_the_documented_hours_per_month(fake: FakeAzure, outputs_file: Path) -> None:
    live_endpoint(fake)  # one deployment of one instance
    code, out, err = run(fake, outputs_file, "endpoints")
    assert code == 0, err
    assert f"1 x {A100} (1 x A100)  {documented('hours per month')} instance-hours/month" in out
