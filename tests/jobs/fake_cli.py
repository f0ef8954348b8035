"""Running the real CLI against the FakeAzure server: real MLClient, real DefaultAzureCredential."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from fake_azure import FakeAzure
from stackdata import RECIPES

from jobs.cli import main
from jobs.submit import Polling, connect

_cloud_counter = iter(range(10_000))
TARGET_ARGS = ["--stack", "dev", "--project", "nlp-research"]


def factory(fake: FakeAzure, resource_manager: str | None = None) -> Any:
    """Clients of the fake; `resource_manager` sends the ARM requests elsewhere (tokens still come
    from the fake)."""
    metadata = fake.cloud_metadata()
    if resource_manager is not None:
        metadata["resource_manager"] = resource_manager

    # MLClient registers custom clouds globally by name: use a fresh name per client.
    def make(target: Any, registry: str | None) -> Any:
        return connect(
            target,
            registry,
            cloud=f"FakeCloud{next(_cloud_counter)}",
            cloud_metadata=metadata,
            retry_backoff_factor=0.01,
            retry_backoff_max=0.05,
            retry_total=3,
            # LRO polls with Retry-After 0 fall back to this interval (azure-core base_polling).
            polling_interval=0.01,
        )

    return make


def run(
    fake: FakeAzure,
    outputs_file: Path,
    *argv: str,
    polling: Polling | None = None,
    resource_manager: str | None = None,
) -> tuple[int, str, str]:
    """`azml-jobs ARGV --stack dev --project nlp-research --outputs FILE`: exit code, stdout, stderr
    (`resource_manager`: as for `factory`)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [*argv, *TARGET_ARGS, "--outputs", str(outputs_file)],
        client_factory=factory(fake, resource_manager),
        out=out,
        err=err,
        polling=polling,
    )
    return code, out.getvalue(), err.getvalue()


def finetune(
    fake: FakeAzure, outputs_file: Path, recipe: str, *extra: str, polling: Polling | None = None
) -> tuple[int, str, str]:
    return run(fake, outputs_file, "finetune", str(RECIPES / f"{recipe}.yaml"), *extra, polling=polling)


def dry_run(fake: FakeAzure, outputs_file: Path, recipe: str) -> tuple[str, dict[str, Any]]:
    """The job name and the REST body `--dry-run` prints; the name travels in the URL, not the body."""
    code, dry, _ = finetune(fake, outputs_file, recipe, "--dry-run")
    assert code == 0 and not fake.requests  # dry-run: no network at all
    body = json.loads(dry[dry.index("{\n") : dry.index("\n}\n") + 2])
    return body.pop("name"), body
