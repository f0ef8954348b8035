"""Dropping the legacy type aliases pulumi-azure-native v3 puts on every resource.

Every azure-native v3 resource class merges `aliases=[pulumi.Alias(type_="azure-native:<module>/
v<api-version>:<Type>"), ...]` into its options: one alias per API version the resource type ever
had (30-50 per type), so that state written by provider v1/v2 (or by v3's versioned modules) is
found under the new type token. Pulumi's `Resource.__init__` turns each alias into an alias URN
through a chain of `Output`s (`collapse_alias_to_urn`: `Output.from_input`, `Output.all`,
`create_urn`, each an asyncio task) and `prepare_aliases` resolves each alias once more before the
registration is sent; that work is most of the program's evaluation time under both a real engine
and the mock runtime (pulumi/pulumi#10010, pulumi/pulumi-azure-native#4516).

A stack whose state never held those old type tokens has nothing for the aliases to match, so for
such (greenfield) stacks `drop_legacy_aliases`, registered as a stack transformation before the
first resource, removes exactly those type-only, versioned-token aliases. Legacy transformations
run in-process in `Resource.__init__` *before* the aliases are collapsed, which is why the cost
goes away (`register_resource_transform` runs engine-side, after the SDK has already paid it).
Every other alias, e.g. one the program adds after renaming a resource, is kept unchanged.

Stacks migrated from earlier provider versions set `keep_legacy_aliases: true` in their
environment config: then nothing is registered and every alias reaches the engine.
See docs/performance.md.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi

# azure-native:<module>/v<YYYYMMDD>[preview|beta|privatepreview]:<Type> (provider v1/v2 and v3's
# versioned modules) and azure-nextgen:<module>/(v<...>|latest):<Type> (the provider's pre-v1 name).
LEGACY_TYPE = re.compile(
    r"azure-native:[A-Za-z0-9]+/v\d{8}[A-Za-z]*:[A-Za-z0-9_]+"
    r"|azure-nextgen:[A-Za-z0-9]+/(?:v\d{8}[A-Za-z]*|latest):[A-Za-z0-9_]+"
)

_UNSET: Any = ...


def is_legacy_alias(alias: object) -> bool:
    """An alias that only renames the type to a legacy versioned token: what the SDK generates.
    Aliases that also change name, parent, stack or project, URN strings and Outputs are the
    program's own and never count."""
    return (
        isinstance(alias, pulumi.Alias)
        and isinstance(alias.type_, str)
        and alias.name is _UNSET
        and alias.parent is _UNSET
        and alias.stack is _UNSET
        and alias.project is _UNSET
        and LEGACY_TYPE.fullmatch(alias.type_) is not None
    )


def drop_legacy_aliases(
    args: pulumi.ResourceTransformationArgs,
) -> pulumi.ResourceTransformationResult | None:
    """Stack transformation: the resource's options without legacy type aliases; None (unchanged)
    when it has none. The options are copied, never mutated; parent and everything else stay."""
    aliases = args.opts.aliases
    if not aliases:
        return None
    kept = [alias for alias in aliases if not is_legacy_alias(alias)]
    if len(kept) == len(aliases):
        return None
    opts = args.opts._copy()
    opts.aliases = kept or None
    return pulumi.ResourceTransformationResult(args.props, opts)


def register(keep_legacy_aliases: bool) -> bool:
    """Register `drop_legacy_aliases` for every resource created from now on, unless the stack
    keeps legacy aliases. Must run before the first resource is constructed. Returns whether it
    registered the transformation."""
    if keep_legacy_aliases:
        return False
    pulumi.runtime.register_stack_transformation(drop_legacy_aliases)
    return True
