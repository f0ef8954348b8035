"""Which refused job PUTs mean "a job of that name exists" (then `finetune` attaches to it): the
UserError with inner error JobPropertyImmutable that public reports show (MicrosoftDocs/azure-docs
#122250, Azure/azure-sdk-for-python#47389) at any depth, in either spelling of innerError that
ARM services use, and a 409; nothing else."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from jobs.submit import _job_exists

IMMUTABLE = {"code": "Immutable", "innerError": {"code": "JobPropertyImmutable"}}


class Response:
    def __init__(self, body: Any) -> None:
        self._text = body if isinstance(body, str) else json.dumps(body)

    def json(self) -> Any:
        return json.loads(self._text)


def refused(status: int, body: Any = None) -> Any:
    return SimpleNamespace(status_code=status, response=None if body is None else Response(body))


@pytest.mark.parametrize(
    ("error", "exists"),
    [
        (refused(409), True),
        (refused(400, {"error": {"code": "UserError", "innerError": IMMUTABLE}}), True),
        (refused(400, {"error": {"code": "UserError", "innererror": IMMUTABLE}}), True),
        (refused(400, {"error": {"code": "JobPropertyImmutable"}}), True),
        (refused(400, {"error": {"code": "UserError", "innerError": {"code": "Invalid"}}}), False),
        (refused(400, {"error": {"code": "UserError", "message": "JobPropertyImmutable"}}), False),
        (refused(400), False),  # no body to read
        (refused(400, "<html>bad gateway</html>"), False),  # not JSON
        (refused(400, ["JobPropertyImmutable"]), False),  # JSON, not an ARM error
        (refused(404, {"error": {"code": "UserError", "innerError": IMMUTABLE}}), False),
        (refused(500, {"error": {"code": "UserError", "innerError": IMMUTABLE}}), False),
    ],
)
def test_what_counts_as_an_existing_job(error: Any, exists: bool) -> None:
    assert _job_exists(error) is exists
