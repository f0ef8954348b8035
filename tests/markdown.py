"""Reading the docs' tables, for tests that check the docs against the product."""

from __future__ import annotations

from pathlib import Path


def table_rows(path: Path, heading: str) -> dict[str, str]:
    """The first two columns of the table under `## heading` of a Markdown file: setting -> value
    (backquotes dropped from the setting)."""
    section = path.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and not set(cells[0]) <= {"-"} and cells[0] != "Setting":
            rows[cells[0].replace("`", "")] = cells[1]
    return rows
