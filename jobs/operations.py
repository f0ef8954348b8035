"""Following Azure's long-running operations: `--wait`, with an elapsed-time progress display.

A PUT or DELETE of an online endpoint, a serverless endpoint or a marketplace subscription
answers once Azure ML accepted it; the work goes on server side and is followed by polling
(ARM asynchronous operations: `Azure-AsyncOperation` or `Location`). Without `--wait` a command
returns once Azure accepted the request: the operation keeps running (the SDK's poller thread,
a daemon, ends with the process). With `--wait` it follows the operation to its end:

- `OperationFailed` (exit 1): the operation ended Failed; its error is printed;
- `FollowStopped` (exit 3): polling kept failing transiently (after azure-core's retries); the
  operation itself may still be running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from jobs.errors import FollowStopped, OperationFailed

# How often a long wait says it is still waiting (an LLM deployment takes 10-30 minutes).
PROGRESS_INTERVAL_S = 30.0


def wait_for(
    poller: Any, label: str, out: TextIO, interval: float = PROGRESS_INTERVAL_S, clock: Any = time.monotonic
) -> Any:
    """The poller's result, printing an elapsed-time line each `interval` while it runs."""
    started = clock()
    while not poller.done():
        poller.wait(interval)
        if not poller.done():
            minutes, seconds = divmod(int(clock() - started), 60)
            out.write(f"[{minutes:3d}m{seconds:02d}s] {label}: still running\n")
            out.flush()
    return poller.result()


def follow(poller: Any, label: str, out: TextIO, interval: float = PROGRESS_INTERVAL_S) -> Any:
    """`wait_for`, with an operation that ended Failed as `OperationFailed` and polling that kept
    failing as `FollowStopped`."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    from jobs.submit import TRANSIENT_HTTP_STATUSES, _first_line

    try:
        return wait_for(poller, label, out, interval)
    except (ServiceRequestError, ServiceResponseError) as error:
        raise FollowStopped(
            f"stopped following {label}: cannot reach Azure ML ({_first_line(error)}); the operation may "
            "still be running there"
        ) from error
    except HttpResponseError as error:
        if error.status_code in TRANSIENT_HTTP_STATUSES:
            raise FollowStopped(
                f"stopped following {label}: Azure ML answered {error.status_code} ({_first_line(error)}); "
                "the operation may still be running there"
            ) from error
        raise OperationFailed(f"{label} failed: {_first_line(error)}") from error


def not_followed(label: str, check: str) -> str:
    """What a command without `--wait` says once Azure accepted its request."""
    return (
        f"{label}: accepted by Azure ML and running there (not followed; --wait follows it); check: {check}\n"
    )


class InThread:
    """A blocking SDK call on a daemon thread, with the poller interface `wait_for` reads, so a
    call with no `begin_` form (models.share) gets the progress display too. Ctrl-C stops the
    wait; the call's request, once sent, completes on Azure."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self._done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(call,), daemon=True).start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self._result = call()
        except BaseException as error:  # handed to the waiting thread by result()
            self._error = error
        finally:
            self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float) -> None:
        self._done.wait(timeout)

    def result(self) -> Any:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result
