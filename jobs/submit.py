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
from jobs.errors import FollowStopped, JobsError, TransientAzureError
from jobs.statuses import TERMINAL_STATUSES
from jobs.targets import Target

# Pipeline job -> nodes -> steps: the catalog pipelines nest one level of pipeline component.
_MAX_STEP_DEPTH = 2

# HTTP statuses worth retrying a read for: throttling and server-side failures (azure-core's
# RetryPolicy retries the same set before it gives up and raises).
TRANSIENT_HTTP_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Polling:
    """How `follow` waits between polls: injectable so tests poll instantly on a fake clock."""

    first_interval: float = 5.0
    max_interval: float = 60.0
    growth: float = 1.5
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    # Consecutive failed reads (each already retried by azure-core) before following stops.
    max_read_failures: int = 8

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
class StepView:
    """A run below a pipeline job: `path` is its display names from the root, e.g. finetune/preprocess."""

    run_id: str
    path: str
    status: str


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
        ServiceResponseError,
    )

    where = (
        f"workspace {target.workspace_name!r} (resource group {target.resource_group!r}, "
        f"subscription {target.subscription_id})"
    )
    try:
        yield
    except ClientAuthenticationError as error:
        # DefaultAzureCredential's message goes on to list every credential it tried (--verbose logs them).
        reason = _first_line(error).split(" Attempted credentials:")[0]
        raise JobsError(
            f"{action}: not authenticated for {where}: sign in with `az login` (or configure workload "
            f"identity in CI): {reason}"
        ) from error
    except ResourceNotFoundError as error:
        raise JobsError(f"{action}: not found in {where}: {_first_line(error)}") from error
    except HttpResponseError as error:
        if error.status_code in TRANSIENT_HTTP_STATUSES:
            raise TransientAzureError(
                f"{action}: Azure ML answered {error.status_code}: {_first_line(error)}"
            ) from error
        if error.status_code == 403:
            raise JobsError(
                f"{action}: access denied on {where}: your identity needs the AzureML Data Scientist "
                f"role there: {_first_line(error)}"
            ) from error
        raise JobsError(f"{action}: Azure ML answered {error.status_code}: {_first_line(error)}") from error
    except (ServiceRequestError, ServiceResponseError) as error:
        raise TransientAzureError(f"{action}: cannot reach Azure ML: {_first_line(error)}") from error
    except MlException as error:
        raise JobsError(f"{action}: {_first_line(error)}") from error


def _job_exists(error: Any) -> bool:
    """Whether a refused job PUT says that a job of that name exists. Azure ML answers UserError
    "A job with this name already exists..." with the inner error code JobPropertyImmutable when
    the PUT would change what a job cannot change (public reports: MicrosoftDocs/azure-docs#122250,
    Azure/azure-sdk-for-python#47389); a 409 is the ARM convention for a conflicting create."""
    if error.status_code == 409:
        return True
    if error.status_code != 400 or error.response is None:
        return False
    try:
        body = error.response.json()
    except ValueError:
        return False
    inner = body.get("error") if isinstance(body, dict) else None
    codes = set()
    while isinstance(inner, dict):  # error -> innerError -> innerError ...
        codes.add(inner.get("code"))
        inner = inner.get("innerError", inner.get("innererror"))
    return "JobPropertyImmutable" in codes


def _first_line(error: BaseException) -> str:
    # An ARM error body ({"error": {"code", "message"}}) is parsed by azure-core into `.error`;
    # its str() repeats it as "(Code) message Code: ... Message: ...": say it once. azure-core
    # also accepts a body with only one of the two (ODataV4Format refuses only when both are
    # missing), and then fills the other in as "None".
    odata = getattr(error, "error", None)
    code, text = getattr(odata, "code", None), getattr(odata, "message", None)
    if code or text:
        said = f"({code}) {text}" if code and text else str(code or text)
        return " ".join(said.split())[:400]
    # Other SDK messages are often multi-line JSON; squash them so the user sees one line.
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
                # The same job (same name, so same hash) was created meanwhile by another client.
                if not _job_exists(error):
                    raise
                return Submission(self._view(self._client.jobs.get(built.name)), attached=True)
            return Submission(self._view(created), attached=False)

    def get(self, name: str) -> JobView:
        with azure_errors(self._target, f"reading job {name}"):
            return self._view(self._client.jobs.get(name))

    def children(self, name: str) -> list[JobView]:
        """The runs directly below `name` in run history (pipeline nodes, or a node's steps)."""
        with azure_errors(self._target, f"listing the steps of {name}"):
            return [self._view(child) for child in self._client.jobs.list(parent_job_name=name) if child]

    def steps(self, name: str, settled: dict[str, list[StepView]] | None = None) -> list[StepView]:
        """Every run below pipeline job `name`, depth first.

        The service nests a pipeline-component node's steps below the node (the catalog
        pipelines: validation, model import, preprocess, finetune, model converter, ...), so the
        tree is walked, not only the first level. `settled` caches the subtrees of runs that
        ended, so a long job costs one listing per running node per poll.
        """
        settled = {} if settled is None else settled
        found: list[StepView] = []

        def walk(run_id: str, prefix: str, depth: int) -> None:
            for child in self.children(run_id):
                path = f"{prefix}{child.display_name}"
                found.append(StepView(child.name, path, child.status))
                if depth >= _MAX_STEP_DEPTH:
                    continue
                if child.name in settled:
                    found.extend(settled[child.name])
                    continue
                start = len(found)
                walk(child.name, f"{path}/", depth + 1)
                if child.status in TERMINAL_STATUSES:
                    settled[child.name] = found[start:]

        walk(name, "", 1)
        return found

    def failure(self, name: str) -> str | None:
        """The error to show for a failed job: a failed pipeline's root and nodes only say that a
        child failed, so the deepest failed step's own error is the one that explains it."""
        steps = [step for step in self.steps(name) if step.status == "Failed"]
        for step in sorted(steps, key=lambda step: step.path.count("/"), reverse=True):
            message = self.error(step.run_id)
            if message:
                return f"step {step.path}: {message}"
        return self.error(name)

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
        """The error a failed run reported, from run history (the ARM job resource carries none)."""
        from jobs.sdk_private import run_error

        with azure_errors(self._target, f"reading the error of {name}"):
            code, message = run_error(self._client, name)
        return " ".join(f"{code}: {message}".split()).strip(": ") or None


def follow(jobs: WorkspaceJobs, name: str, out: TextIO, polling: Polling | None = None) -> JobView:
    """Poll until the job ends, printing status transitions of the job and of every pipeline step.

    Polling `jobs.get` (not `jobs.stream`, which is unreliable in CI) with a backoff that resets
    whenever something changes, so an active job is followed closely and an idle one cheaply.
    A read that fails transiently (throttling, 5xx, network) is reported and retried on the same
    backoff; after `max_read_failures` in a row, `FollowStopped` says how to re-attach.
    """
    polling = polling or Polling()
    started = polling.clock()
    interval = polling.first_interval
    seen: dict[str, str] = {}
    settled: dict[str, list[StepView]] = {}
    failures = 0
    while True:
        try:
            view = jobs.get(name)
            changed = _report(out, seen, name, view.status, polling.clock() - started, "job")
            if view.job_type == "pipeline":
                for step in jobs.steps(name, settled):
                    label = f"step {step.path}"
                    changed |= _report(out, seen, step.run_id, step.status, polling.clock() - started, label)
            failures = 0
        except TransientAzureError as error:
            failures += 1
            if failures >= polling.max_read_failures:
                raise FollowStopped(
                    f"stopped following {name} after {failures} failed reads ({error}); the job keeps "
                    f"running on Azure ML: re-attach with `azml-jobs status {name} --wait`"
                ) from error
            interval = polling.next_interval(interval, changed=False)
            minutes, seconds = divmod(int(polling.clock() - started), 60)
            out.write(
                f"[{minutes:3d}m{seconds:02d}s] warning: {error}; retrying in {interval:g} s "
                f"({failures} of {polling.max_read_failures - 1} retries)\n"
            )
            out.flush()
            polling.sleep(interval)
            continue
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
