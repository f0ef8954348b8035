"""Talking to the workspace: submit idempotently, follow, list, cancel.

Azure errors are turned into `JobsError`s that say what was missing. azure.* is imported
inside functions so that the CLI starts quickly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from jobs.build import BuiltJob
from jobs.errors import JobsError
from jobs.targets import Target

TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Canceled", "NotResponding", "Paused"})


@dataclass(frozen=True)
class Polling:
    """How `follow` waits between polls: injectable so tests poll instantly on a fake clock."""

    first_interval: float = 5.0
    max_interval: float = 60.0
    growth: float = 1.5
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def next_interval(self, interval: float, changed: bool) -> float:
        """Back to the first interval whenever something changed, else grow up to the maximum."""
        return self.first_interval if changed else min(interval * self.growth, self.max_interval)


@dataclass(frozen=True)
class JobView:
    name: str
    status: str
    display_name: str
    studio_url: str
    tags: Mapping[str, str]
    job_type: str


@dataclass(frozen=True)
class Submission:
    job: JobView
    attached: bool  # True when the job already existed and we attached to it


def connect(
    target: Target, registry: str | None = None, credential: Any = None, **client_options: Any
) -> Any:
    """An MLClient for the project's workspace, or for `registry` when given.

    `credential` defaults to DefaultAzureCredential (az login locally, workload identity in CI);
    `client_options` go to MLClient (cloud, retry settings).
    """
    from azure.ai.ml import MLClient

    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return MLClient(
        credential,
        subscription_id=target.subscription_id,
        resource_group_name=target.resource_group,
        workspace_name=None if registry else target.workspace_name,
        registry_name=registry,
        **client_options,
    )


# (target, registry name or None) -> MLClient; tests pass one with a fake cloud and short retries.
ClientFactory = Callable[[Target, str | None], Any]


@contextmanager
def azure_errors(target: Target, action: str) -> Iterator[None]:
    """Translate Azure failures into one-line errors naming what was missing or refused."""
    from azure.ai.ml.exceptions import MlException
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    where = (
        f"workspace {target.workspace_name!r} (resource group {target.resource_group!r}, "
        f"subscription {target.subscription_id})"
    )
    try:
        yield
    except ClientAuthenticationError as error:
        raise JobsError(
            f"{action}: not authenticated for {where}: sign in with `az login` (or configure workload "
            f"identity in CI): {_first_line(error)}"
        ) from error
    except ResourceNotFoundError as error:
        raise JobsError(f"{action}: not found in {where}: {_first_line(error)}") from error
    except HttpResponseError as error:
        if error.status_code == 403:
            raise JobsError(
                f"{action}: access denied on {where}: your identity needs the AzureML Data Scientist "
                f"role there: {_first_line(error)}"
            ) from error
        raise JobsError(f"{action}: Azure ML answered {error.status_code}: {_first_line(error)}") from error
    except ServiceRequestError as error:
        raise JobsError(f"{action}: cannot reach Azure ML: {_first_line(error)}") from error
    except MlException as error:
        raise JobsError(f"{action}: {_first_line(error)}") from error


def _first_line(error: BaseException) -> str:
    # SDK messages are often multi-line JSON; squash them so the user sees one line.
    message = " ".join(str(getattr(error, "message", None) or error).split())
    return message[:400] or type(error).__name__


class WorkspaceJobs:
    """The jobs of one project workspace."""

    def __init__(self, target: Target, client: Any) -> None:
        self._target = target
        self._client = client

    def _view(self, job: Any) -> JobView:
        return JobView(
            name=str(job.name),
            status=str(getattr(job.status, "value", job.status) or "Unknown"),  # an enum in some versions
            display_name=str(job.display_name or job.name),
            studio_url=job.studio_url or self._studio_url(str(job.name)),
            tags=dict(job.tags or {}),
            job_type=str(job.type),
        )

    def _studio_url(self, name: str) -> str:
        scope = self._target.workspace_scope.replace("resourceGroups", "resourcegroups")
        return f"https://ml.azure.com/runs/{name}?wsid={scope.split('/providers/')[0]}/workspaces/{self._target.workspace_name}"

    def _find(self, name: str) -> Any | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._client.jobs.get(name)
        except ResourceNotFoundError:
            return None

    def submit(self, built: BuiltJob) -> Submission:
        from azure.core.exceptions import HttpResponseError

        with azure_errors(self._target, f"submitting {built.name}"):
            existing = self._find(built.name)
            if existing is not None:
                return Submission(self._view(existing), attached=True)
            try:
                created = self._client.jobs.create_or_update(built.entity)
            except HttpResponseError as error:
                # 409: the same job (same hash) was created meanwhile, e.g. by a retried request.
                if error.status_code != 409:
                    raise
                return Submission(self._view(self._client.jobs.get(built.name)), attached=True)
            return Submission(self._view(created), attached=False)

    def get(self, name: str) -> JobView:
        with azure_errors(self._target, f"reading job {name}"):
            return self._view(self._client.jobs.get(name))

    def children(self, name: str) -> list[JobView]:
        with azure_errors(self._target, f"listing the steps of {name}"):
            return [self._view(child) for child in self._client.jobs.list(parent_job_name=name) if child]

    def list_project(self, limit: int) -> list[JobView]:
        """This project's jobs: the workspace is shared tooling-wise, so filter on our `project` tag."""
        with azure_errors(self._target, "listing jobs"):
            views = []
            for job in self._client.jobs.list():
                if job is not None and (job.tags or {}).get("project") == self._target.project:
                    views.append(self._view(job))
                    if len(views) >= limit:
                        break
            return views

    def cancel(self, name: str) -> None:
        with azure_errors(self._target, f"cancelling {name}"):
            self._client.jobs.begin_cancel(name).result()

    def error(self, name: str) -> str | None:
        """The error a failed job reported, from run history (the ARM job resource carries none).

        The SDK's own `jobs.stream` reads it the same way; there is no public accessor.
        """
        with azure_errors(self._target, f"reading the error of {name}"):
            details = self._client.jobs._runs_operations.get_run_details(name)
        error = getattr(getattr(details, "error", None), "error", None)
        if error is None:
            return None
        return " ".join(f"{error.code or ''}: {error.message or ''}".split()).strip(": ") or None


def follow(jobs: WorkspaceJobs, name: str, out: TextIO, polling: Polling | None = None) -> JobView:
    """Poll until the job ends, printing status transitions and pipeline steps.

    Polling `jobs.get` (not `jobs.stream`, which is unreliable in CI) with a backoff that resets
    whenever something changes, so an active job is followed closely and an idle one cheaply.
    """
    polling = polling or Polling()
    started = polling.clock()
    interval = polling.first_interval
    seen: dict[str, str] = {}
    while True:
        view = jobs.get(name)
        changed = _report(out, seen, name, view.status, polling.clock() - started, "job")
        if view.job_type == "pipeline":
            for step in jobs.children(name):
                label = f"step {step.display_name}"
                changed |= _report(out, seen, step.name, step.status, polling.clock() - started, label)
        if view.status in TERMINAL_STATUSES:
            return view
        interval = polling.next_interval(interval, changed)
        polling.sleep(interval)


def _report(out: TextIO, seen: dict[str, str], key: str, status: str, elapsed: float, label: str) -> bool:
    previous = seen.get(key)
    if previous == status:
        return False
    seen[key] = status
    minutes, seconds = divmod(int(elapsed), 60)
    out.write(f"[{minutes:3d}m{seconds:02d}s] {label}: {previous or 'new'} -> {status}\n")
    out.flush()
    return True
