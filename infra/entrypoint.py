"""What `pulumi up` runs: load configuration from the engine, validate it all, resolve the
platform model, then build."""

from __future__ import annotations

from pathlib import Path

import pulumi

from infra import aliases
from infra.config.errors import ConfigError, ConfigIssue
from infra.config.loader import ENVIRONMENT_KEY, Layout, build_platform, parse_environment, stack_document
from infra.model import resolve
from infra.model.budget import AS_OF_VARIABLE, AsOfError, as_of_date
from infra.program import ClientConfig, build
from infra.registration_window import RegistrationWindow
from infra.runtime_tuning import tune_runtime


def run(root: Path) -> None:
    """Validate every file before the first resource is registered, so bad input applies nothing."""
    layout = Layout(root)
    stack = pulumi.get_stack()
    try:
        as_of = as_of_date()
    except AsOfError as error:
        raise ConfigError([ConfigIssue(AS_OF_VARIABLE, "", str(error))]) from None
    platform = build_platform(
        layout,
        stack,
        lambda: parse_environment(
            pulumi.runtime.get_config(ENVIRONMENT_KEY),
            is_secret=pulumi.runtime.is_config_secret(ENVIRONMENT_KEY),
            file=layout.relative(layout.stack_file(stack)),
        ),
        as_of=as_of,
        stack_document=stack_document(layout, stack),
    )
    tune_runtime()  # flat cost per resource at thousands of resources (infra/runtime_tuning.py)
    # Before the first resource: greenfield stacks skip the legacy type aliases (infra/aliases.py),
    # and previews construct a few projects at a time (infra/registration_window.py).
    aliases.register(platform.environment.keep_legacy_aliases)
    window = RegistrationWindow.for_this_run()
    client = ClientConfig.current()
    model = resolve(platform, subscription=client.subscription_id, tenant=client.tenant_id, as_of=as_of)
    # the SDK awaits the entrypoint once this module has run, and exports the outputs it returns
    pulumi.run(lambda: build(model, window))
