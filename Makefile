# The two commands of the README: `make plan` (the offline plan) and `make test`.
# Both work on a fresh machine: uv comes from PyPI when it is not installed, then
# `uv sync --locked` installs exactly the committed lock, compiled to bytecode at install time
# (pulumi-azure-native's modules take ~2 s to compile on every run where Python cannot write
# .pyc files, e.g. PYTHONDONTWRITEBYTECODE=1 or a read-only venv; ~12 s once instead).

STACK ?= dev
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := .tools/bin/uv
endif
RUN := $(UV) run --locked --no-sync

.PHONY: plan test lint typecheck unit bench validate sync mutate

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

sync: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --locked --quiet --compile-bytecode

plan: sync
	$(RUN) python -m infra plan --stack $(STACK) $(if $(JSON),--json $(JSON)) $(PLAN_ARGS)

validate: sync
	$(RUN) python -m infra validate

lint: sync
	$(RUN) ruff check infra jobs tests bench
	$(RUN) ruff format --check infra jobs tests bench
	$(RUN) check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

typecheck: sync
	$(RUN) mypy

unit: sync
	$(RUN) pytest -q

test: lint typecheck unit

bench: sync
	$(RUN) python bench/plan_scale.py

# Mutation testing of the security- and money-relevant modules ([tool.mutmut] in pyproject.toml):
# a report like the benchmarks, not part of `make test`. MUTATE=<glob> narrows it, e.g.
# MUTATE='infra.roles*'. Prints the kill rate and every surviving mutant.
mutate: sync
	rm -rf mutants
	$(RUN) mutmut run $(MUTATE) || true
	$(RUN) python bench/mutation_report.py
