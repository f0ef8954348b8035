"""docs/guardrails.md lists every rule with its level, and every example definition."""

from __future__ import annotations

from infra.guardrails.rules import RESOURCE_RULES, STACK_RULES
from infra.plan.offline import REPOSITORY

DOC = (REPOSITORY / "docs" / "guardrails.md").read_text()


def test_every_rule_is_documented_with_its_level() -> None:
    rows = {line.split("|")[1].strip(" `"): line for line in DOC.splitlines() if line.startswith("| `")}
    for rule in (*RESOURCE_RULES, *STACK_RULES):
        assert rule.name in rows, rule.name
        assert f"| {rule.level} |" in rows[rule.name]
        assert rule.description in rows[rule.name]
    assert len(rows) == len(RESOURCE_RULES) + len(STACK_RULES)


def test_the_readme_points_to_the_pack_and_the_docs() -> None:
    readme = (REPOSITORY / "README.md").read_text()
    assert "--policy-pack policy" in readme and "docs/guardrails.md" in readme
