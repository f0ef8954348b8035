"""Rules that span files: quota across every project of an environment, privileged-role
exceptions, and the access model. The loader runs the checks while it validates configuration, so
`python -m infra validate`, the offline plan and `pulumi up` all enforce the same rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.config.errors import dotted
from infra.config.models import ProjectSettings


@dataclass(frozen=True)
class Onboarded:
    """One project in one environment, with where its settings came from (for messages)."""

    settings: ProjectSettings
    file: str
    environment: str
    override: Mapping[str, Any] = field(default_factory=dict)

    def field(self, *location: str | int) -> str:
        """The field path the user edits: under `environments.<env>` when that environment
        overrides it, otherwise at the top of the file."""
        node: Any = self.override
        for part in location:
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            else:
                return dotted(location)
        return dotted(("environments", self.environment, *location))
