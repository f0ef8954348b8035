"""Azure ML job statuses that matter to following and reporting (azure.ai.ml.constants.JobStatus).

NotResponding and Paused are not terminal: a job comes back from both, so following goes on.
"""

from __future__ import annotations

TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Canceled"})
UNSUCCESSFUL_STATUSES = frozenset({"Failed", "Canceled"})
