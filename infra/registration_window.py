"""Previews construct a few projects at a time, so that their registrations never pile up.

A Pulumi Python program constructs its resources synchronously: unless it yields, every
registration of the stack is pending at once before the event loop runs the first. At 300 projects
those pending registrations took as much memory again as the stack itself keeps, ~1 GB in all
(docs/performance.md, 3e). In a preview (`pulumi preview`, the first phase of `pulumi up`, the
offline plan) a registration returns as soon as the engine has planned the resource, so the
program constructs a batch of projects and then lets the event loop finish the previous batch's
registrations before it constructs the next: at most two batches are in flight, and the engine
always has the newer one to work on.

In an update a registration returns only once its resource exists in Azure, so waiting there
would deploy the environment a batch at a time: updates never wait.
"""

from __future__ import annotations

import asyncio

import pulumi

PROJECTS_PER_BATCH = 5


class RegistrationWindow:
    """Create it before the first resource (it sees every resource constructed after it), then
    `await project_constructed()` after each project."""

    def __init__(self, *, enabled: bool, projects_per_batch: int = PROJECTS_PER_BATCH) -> None:
        if projects_per_batch < 1:
            raise ValueError("projects_per_batch must be at least 1")
        self.enabled = enabled
        self._per_batch = projects_per_batch
        self._projects = 0
        self._constructed: list[pulumi.Resource] = []  # since the last batch closed
        self._previous: list[pulumi.Resource] = []  # the batch before, still registering
        if enabled:
            pulumi.runtime.register_stack_transformation(self._remember)

    @classmethod
    def for_this_run(cls) -> RegistrationWindow:
        """Enabled in previews only."""
        return cls(enabled=pulumi.runtime.is_dry_run())

    def _remember(
        self, args: pulumi.ResourceTransformationArgs
    ) -> pulumi.ResourceTransformationResult | None:
        self._constructed.append(args.resource)
        return None  # options and properties unchanged

    async def project_constructed(self) -> None:
        if not self.enabled:
            return
        self._projects += 1
        if self._projects % self._per_batch:
            return
        batch, self._previous, self._constructed = self._previous, self._constructed, []
        # a URN resolves when the engine answers the registration, known or not in a preview
        await asyncio.gather(*(resource.urn.future() for resource in batch))
