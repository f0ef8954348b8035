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

.PHONY: plan test lint typecheck unit bench bench-diff validate sync onboard graph mutate check-live policy expected

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

sync: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --locked --quiet --compile-bytecode

plan: sync
	$(RUN) python -m infra plan --stack $(STACK) $(if $(JSON),--json $(JSON)) $(PLAN_ARGS)

validate: sync
	$(RUN) python -m infra validate

# make onboard NAME=my-project OWNER=lead@contoso.com [COST_CENTER=CC-1] [ENVIRONMENTS=dev,prod] [BUDGET=1000]
onboard: sync
	$(RUN) python -m infra onboard $(NAME) --owner $(OWNER) $(if $(COST_CENTER),--cost-center $(COST_CENTER)) $(if $(ENVIRONMENTS),--environments $(ENVIRONMENTS)) $(if $(BUDGET),--budget $(BUDGET))

# The resource graph of a stack as DOT and SVG (docs/graph-<stack>.*). SVG needs Graphviz, a
# system package: installed here with apt-get when `dot` is missing (root, or sudo).
graph: sync
	@command -v dot >/dev/null 2>&1 || { apt-get install -y -qq graphviz 2>/dev/null || sudo apt-get install -y -qq graphviz; }
	$(RUN) python -m infra graph --stack $(STACK) --short-node-name --output docs/graph-$(STACK).dot --svg docs/graph-$(STACK).svg

lint: sync
	$(RUN) ruff check infra jobs tests bench
	$(RUN) ruff format --check infra jobs tests bench
	$(RUN) check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(RUN) zizmor --offline --no-progress .github/workflows

typecheck: sync
	$(RUN) mypy

unit: sync
	$(RUN) pytest -q

test: lint typecheck unit

# Rewrite the reviewed copies (plan text, error messages, dry runs; docs/mutation.md) from the
# current output after an intended change; review them with `git diff tests/`.
expected: sync
	$(RUN) pytest -q tests/infra/test_plan_text.py tests/infra/test_plan_snapshot.py tests/infra/test_error_messages.py tests/jobs/test_dry_run.py tests/jobs/test_deploy.py --update-expected

bench: sync
	$(RUN) python bench/plan_scale.py

bench-diff: sync
	$(RUN) python bench/diff_scale.py

# Mutation testing of the security- and money-relevant modules ([tool.mutmut] in pyproject.toml):
# a report like the benchmarks, not part of `make test`. MUTATE=<glob> narrows it, e.g.
# MUTATE='infra.roles*'. Prints the kill rate and every surviving mutant.
# The guardrails and Azure Policy definitions on a stack's offline plan (docs/guardrails.md).
policy: sync
	$(RUN) python -m infra policy --stack $(STACK) $(POLICY_ARGS)

check-live: sync
	$(RUN) python -m infra check-live --stack $(STACK) $(if $(SUBSCRIPTION),--subscription $(SUBSCRIPTION))

mutate: sync
	rm -rf mutants
	$(RUN) mutmut run $(MUTATE) || true
	$(RUN) python bench/mutation_report.py
