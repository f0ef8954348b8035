"""`pulumi up --stack <env>`: one Azure ML environment, from stacks/Pulumi.<env>.yaml and stacks/projects/."""

from pathlib import Path

from infra.entrypoint import run

run(Path(__file__).resolve().parent)
