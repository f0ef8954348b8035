"""The one exception type users see: the CLI prints it without a traceback."""

from __future__ import annotations


class JobsError(Exception):
    """A problem the user can fix (bad recipe, unknown project, missing access...)."""
