"""Property paths in Pulumi's notation: what the plan records as computed is what the diff finds."""

from __future__ import annotations

import pytest

from infra.plan import paths

DOCUMENT = {
    "tags": {"cost-center": "CC-1", "team": "nlp"},
    "identity": {"userAssignedIdentities": {"/subscriptions/s/identities/x": {"principalId": "p"}}},
    "regionDetails": [{"location": "westeurope"}, {"location": "northeurope"}],
}


@pytest.mark.parametrize(
    ("keys", "text"),
    [
        (["tags", "team"], "tags.team"),
        (["tags", "cost-center"], 'tags["cost-center"]'),
        (["identity", "userAssignedIdentities", "/subscriptions/s/identities/x", "principalId"],
         'identity.userAssignedIdentities["/subscriptions/s/identities/x"].principalId'),
        (["regionDetails", 1, "location"], "regionDetails[1].location"),
        (["a", 'say "hi"'], 'a["say \\"hi\\""]'),
    ],
)  # fmt: skip
def test_join_and_parse_are_inverse(keys: list[str | int], text: str) -> None:
    path = ""
    for key in keys:
        path = paths.join(path, key)
    assert path == text and paths.parse(text) == keys and paths.top_key(text) == keys[0]


def test_get_and_replace_follow_a_path_and_leave_missing_ones_alone() -> None:
    document = {**DOCUMENT, "regionDetails": [dict(r) for r in DOCUMENT["regionDetails"]]}
    assert paths.get(document, 'tags["cost-center"]') == "CC-1"
    assert paths.get(document, "regionDetails[5].location") is paths.MISSING
    paths.replace(document, "regionDetails[1].location", "swedencentral")
    paths.replace(document, "tags.absent", "x")
    assert document["regionDetails"][1] == {"location": "swedencentral"} and "absent" not in document["tags"]
    with pytest.raises(ValueError, match="not a property path"):
        paths.parse("tags..team")
