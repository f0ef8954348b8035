"""Guardrails as policy: the rules every planned resource and every stack must pass.

The rules (infra/guardrails/rules.py) are plain functions over a planned resource or the whole
stack. infra/guardrails/pack.py wraps them as pulumi-policy policies: the pack directory
(`policy/`) registers exactly those for `pulumi preview --policy-pack policy`, and the offline
runner (infra/guardrails/runner.py) drives the same policy objects over the offline plan or a
saved plan JSON, so the CLI, the plan and the tests run one set of functions.

This package imports nothing heavy except in pack.py (pulumi_policy).
"""
