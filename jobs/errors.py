"""The one exception type users see: the CLI prints it without a traceback."""

from __future__ import annotations


class JobsError(Exception):
    """A problem the user can fix (bad recipe, unknown project, missing access...)."""


class TransientAzureError(JobsError):
    """A read that failed for a reason that may pass (throttling, 5xx, connection): worth retrying."""


class FollowStopped(JobsError):
    """`--wait` gave up reading the job; the job itself keeps running on Azure ML."""


class OperationFailed(JobsError):
    """A long-running operation Azure accepted ended Failed (`--wait`; exit 1)."""
