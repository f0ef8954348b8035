"""A blocking SDK call followed like a poller (promote's import): result, error, progress."""

from __future__ import annotations

import io
import threading

import pytest

from jobs.operations import InThread, wait_for


def test_a_blocking_call_is_waited_for_with_progress_lines_and_its_result() -> None:
    release = threading.Event()
    polls: list[float] = []

    def clock() -> float:
        # Time moves 30 s per look; the call returns once the progress display has spoken twice.
        polls.append(30.0 * len(polls))
        if len(polls) >= 3:
            release.set()
        return polls[-1]

    out = io.StringIO()
    call = InThread(lambda: release.wait(5) and "imported")
    assert wait_for(call, "import of m:1 into r", out, interval=0.01, clock=clock) == "imported"
    assert out.getvalue().startswith("[  0m30s] import of m:1 into r: still running\n")


def test_the_calls_error_reaches_the_waiting_thread() -> None:
    def refused() -> None:
        raise ValueError("registry refused")

    with pytest.raises(ValueError, match="registry refused"):
        wait_for(InThread(refused), "import", io.StringIO(), interval=0.01)
