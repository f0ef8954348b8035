"""Role assignments of the platform model (infra/model/access.py), as components.

`ProjectAccess` holds every assignment a project owns; `EnvironmentAccess` those of people on the
shared ML registry, merged across projects, so that one principal in several projects gets one
assignment, not several colliding on one name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pulumi

from infra.components.interfaces import role_assignment
from infra.model.access import RoleGrant, ScopeKind


class _Access(pulumi.ComponentResource):
    def __init__(self, type_: str, name: str, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_, name, None, opts)
        self.register_outputs({})

    def assign(
        self,
        grants: Iterable[RoleGrant],
        *,
        scopes: Mapping[ScopeKind, pulumi.Input[str]],
        identities: Mapping[str, pulumi.Input[str]],
        external_scopes: frozenset[ScopeKind] = frozenset(),
    ) -> list[pulumi.Resource]:
        """Create the assignments of `grants`; `identities` maps a managed identity's holder to its
        principal id output. An assignment on a scope another stack owns (`external_scopes`) may be
        shared with that stack: it is retained, never deleted, when this stack drops it."""
        return [
            role_assignment(
                grant,
                scope=scopes[grant.scope_kind],
                principal_id=grant.principal if grant.holder is None else identities[grant.holder],
                parent=self,
                retain_on_delete=grant.holder is None and grant.scope_kind in external_scopes,
            )
            for grant in grants
        ]


class ProjectAccess(_Access):
    """The role assignments of one project: its people, its workspace's and clusters' identities."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:access:ProjectAccess", name, opts)


class EnvironmentAccess(_Access):
    """Role assignments on the environment's shared scopes."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:access:EnvironmentAccess", name, opts)
