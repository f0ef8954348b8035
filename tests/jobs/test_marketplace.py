"""`finetune` of a serverless recipe whose model is not Microsoft's: the project's workspace needs a
Subscribed marketplace subscription to the model's offer (its id without version); `--subscribe`
creates a missing one. Real MLClient against the fake, which refuses such a job without one."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.mgmt.core.tools import parse_resource_id
from fake_azure import FakeAzure, Fault
from fake_cli import finetune, run
from test_recipes_and_checks import write_variant

from jobs.cli import EXIT_JOB_FAILED, EXIT_OK, EXIT_USER_ERROR

OFFER = "azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct"
CREATED = "Meta-Llama-3-1-8B-Instruct-subscription"  # jobs/maas.py names what it creates after the model


def puts(fake: FakeAzure) -> list[str]:
    """The kinds of resource PUT, in order: marketplaceSubscriptions, jobs, ..."""
    return [r.path.rsplit("/", 2)[-2] for r in fake.requests if r.method == "PUT"]


def listings(fake: FakeAzure) -> int:
    return sum(1 for r in fake.requests if r.method == "GET" and r.path.endswith("/marketplaceSubscriptions"))


def test_without_a_subscription_the_job_is_refused_with_how_to_subscribe(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    code, out, err = finetune(fake, serverless_outputs_file, "llama-serverless")
    assert code == EXIT_USER_ERROR and out == ""
    [line] = err.splitlines()
    assert (
        line.startswith("error: ") and "llama-serverless.yaml: model: the project's workspace has no " in line
    )
    assert f"marketplace subscription to {OFFER}, which a non-Microsoft model needs" in line
    assert "run again with --subscribe to create it" in line
    assert "accepts the offer's terms and conditions" in line and "Azure Marketplace bills" in line
    assert puts(fake) == [] and fake.created == 0


def test_subscribe_creates_the_subscription_then_submits(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    code, out, err = finetune(fake, serverless_outputs_file, "llama-serverless", "--subscribe")
    assert code == EXIT_OK, err
    assert puts(fake) == ["marketplaceSubscriptions", "jobs"]  # the fake refuses the job without it
    [put] = [r for r in fake.requests if r.method == "PUT" and "/marketplaceSubscriptions/" in r.path]
    assert put.path.endswith(f"/marketplaceSubscriptions/{CREATED}")
    assert put.body == {"properties": {"modelId": OFFER}}  # the offer: no version
    # Followed to its end before the job is sent.
    assert fake.marketplace[CREATED]["properties"]["provisioningState"] == "Succeeded"
    lines = out.splitlines()
    assert lines[0] == f"subscribing the workspace to the marketplace offer of {OFFER}"
    assert lines[1].startswith("submitted: llama-serverless-")
    # The next run finds it: nothing is created twice.
    code, out, _ = finetune(fake, serverless_outputs_file, "llama-serverless", "--subscribe")
    assert code == EXIT_OK and out.startswith("attached to existing job: ")
    assert puts(fake) == ["marketplaceSubscriptions", "jobs"]


def test_an_existing_subscription_of_any_name_is_found_on_a_later_page(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    # Made in the studio, named as it likes; other offers' subscriptions fill the first page.
    for other in ("mistral-large", "cohere-command"):
        fake.add_marketplace_subscription(
            fake.workspace_id, other, f"azureml://registries/azureml-x/models/{other}"
        )
    fake.add_marketplace_subscription(fake.workspace_id, "llama-from-studio", OFFER)
    code, out, err = finetune(fake, serverless_outputs_file, "llama-serverless")
    assert code == EXIT_OK, err
    assert listings(fake) == 2  # page_size 2: the second page, through nextLink
    assert puts(fake) == ["jobs"] and "note:" not in out


def test_a_microsoft_model_needs_no_subscription(
    fake: FakeAzure, serverless_outputs_file: Path, tmp_path: Path
) -> None:
    fake.registry_models["azureml"]["Phi-3.5-mini-instruct/6"] = {}
    recipe = write_variant(
        tmp_path,
        "llama-serverless",
        {"model": {"registry": "azureml", "name": "Phi-3.5-mini-instruct", "version": "6"}},
    )
    code, out, err = run(fake, serverless_outputs_file, "finetune", str(recipe), "--subscribe")
    assert code == EXIT_OK, err
    assert listings(fake) == 0 and puts(fake) == ["jobs"] and fake.marketplace == {}
    assert "marketplace" not in out


def test_unreadable_subscriptions_are_a_note_and_the_job_goes_on(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    fake.add_marketplace_subscription(fake.workspace_id, "llama-from-studio", OFFER)
    fake.faults.append(Fault("GET", r"/marketplaceSubscriptions$", 403))
    code, out, err = finetune(fake, serverless_outputs_file, "llama-serverless")
    assert code == EXIT_OK, err
    [note] = [line for line in out.splitlines() if line.startswith("note:")]
    assert note.startswith(
        "note: marketplace subscriptions not readable ((AuthorizationFailed) injected 403)"
    )
    assert note.endswith(f"the workspace's subscription to {OFFER} not checked")
    assert puts(fake) == ["jobs"]


def test_unreadable_subscriptions_leave_it_to_the_service_whose_refusal_is_one_line(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    fake.faults.append(Fault("GET", r"/marketplaceSubscriptions$", 403))
    code, out, err = finetune(fake, serverless_outputs_file, "llama-serverless")
    assert code == EXIT_USER_ERROR and out.startswith("note: marketplace subscriptions not readable")
    [line] = err.splitlines()
    assert line.startswith("error: submitting llama-serverless-") and "Azure ML answered 400" in line
    assert f"No Subscribed marketplace subscription in this workspace for {OFFER}/versions/4" in line
    assert fake.created == 0


@pytest.mark.parametrize(
    ("status", "provisioning", "reason"),
    [
        ("Suspended", "Succeeded", "is Suspended: Azure Marketplace could not bill it"),
        (
            "Unsubscribed",
            "Succeeded",
            "is Unsubscribed (cancelled, or ended after a suspension for non-payment)",
        ),
        ("Subscribed", "Failed", "ended provisioning Failed"),
        ("Subscribed", "Creating", "is still being provisioned (Creating): run again once it is Succeeded"),
    ],
)
def test_an_unusable_subscription_is_refused_with_the_reason_even_with_subscribe(
    fake: FakeAzure, serverless_outputs_file: Path, status: str, provisioning: str, reason: str
) -> None:
    fake.add_marketplace_subscription(fake.workspace_id, "llama-from-studio", OFFER, status, provisioning)
    code, out, err = finetune(fake, serverless_outputs_file, "llama-serverless", "--subscribe")
    assert code == EXIT_USER_ERROR and out == ""
    [line] = err.splitlines()
    assert line.startswith("error: ") and "llama-serverless.yaml: model: " in line
    assert f"the workspace's marketplace subscription llama-from-studio to {OFFER} {reason}" in line
    if status == "Unsubscribed" or provisioning == "Failed":
        workspace = parse_resource_id(fake.workspace_id)
        assert (
            "delete it (az ml marketplace-subscription delete --name llama-from-studio --resource-group "
            f"{workspace['resource_group']} --workspace-name {workspace['name']}) and run again with --subscribe"
        ) in line
    assert puts(fake) == []


def test_a_subscribed_one_is_used_even_next_to_an_unsubscribed_one(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    fake.add_marketplace_subscription(fake.workspace_id, "old", OFFER, "Unsubscribed")
    fake.add_marketplace_subscription(fake.workspace_id, "new", OFFER)
    code, _, err = finetune(fake, serverless_outputs_file, "llama-serverless")
    assert code == EXIT_OK, err


def test_a_subscription_whose_creation_fails_stops_before_the_job(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    fake.lro_failures[f"marketplaceSubscriptions/{CREATED}"] = "Marketplace purchase eligibility check failed"
    code, _, err = finetune(fake, serverless_outputs_file, "llama-serverless", "--subscribe")
    assert code == EXIT_JOB_FAILED
    assert err.startswith(f"error: marketplace subscription {CREATED} failed: ")
    assert "Marketplace purchase eligibility check failed" in err and len(err.splitlines()) == 1
    assert puts(fake) == ["marketplaceSubscriptions"] and fake.created == 0


def test_dry_run_with_subscribe_sends_nothing_and_says_what_it_did_not_check(
    fake: FakeAzure, serverless_outputs_file: Path
) -> None:
    code, out, err = finetune(fake, serverless_outputs_file, "llama-serverless", "--dry-run", "--subscribe")
    assert code == EXIT_OK, err
    assert not fake.requests
    assert out.splitlines()[1] == (
        "# note: dry run: the registry and the workspace were not read; model and the workspace's "
        "marketplace subscription not checked"
    )
