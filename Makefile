# Every target sets itself up on a fresh machine: virtual environments, pinned dependencies, local services.
PYTHON ?= python3
VENV ?= .venv
SAM_VENV ?= .venv-sam
CHECKOV_VENV ?= .venv-checkov
EVENT ?= events/provision-succeeded.json
# Empty: the function events/samples.json lists for the sample.
FUNCTION ?=
ENV_VARS ?= events/env.json
SAM_CLI_VERSION = 1.170.0
CHECKOV_VERSION = 3.3.30
PIP_VERSION = 26.3

BIN = $(VENV)/bin
SAM = $(SAM_VENV)/bin/sam
# sam validate works offline with a region and without the EC2 metadata look-up for credentials.
SAM_ENV = AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0

.PHONY: test lint typecheck validate security unit invoke simulate local-services operator-demo bench bench-with rescue replay-dead-letters show-record clean

test: lint typecheck validate security unit

$(VENV)/.installed: src/requirements.txt pyproject.toml
	@echo "== first run: installing the pinned dependencies and the development tools into $(VENV)" \
		"(about 90 packages, 440 MB; a minute or two, once)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet -r src/requirements.txt --group dev
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

# aws-sam-cli pins its own boto3, so it lives in a virtual environment of its own.
$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

# checkov too has pins of its own; --skip-download keeps it off the network (it would fetch guidelines).
$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

validate: $(SAM_VENV)/.installed
	$(SAM_ENV) $(SAM) validate --lint --template template.yaml
	$(SAM_ENV) $(SAM) validate --lint --template examples/engine/template.yaml

security: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --file examples/engine/template.yaml --framework cloudformation \
		--skip-download --compact --quiet

unit: $(VENV)/.installed
	$(BIN)/pytest -q

invoke: $(VENV)/.installed
	@$(BIN)/python -m local_aws.invoke $(if $(FUNCTION),--function '$(FUNCTION)') --event '$(EVENT)' \
		--env-vars '$(ENV_VARS)' $(if $(QUIET),--quiet)

# The seeded simulation (docs/development.md, "Tests"): SEED= replays a story, EXECUTIONS= sizes it (1000 by default).
EXECUTIONS ?= 1000
simulate: $(VENV)/.installed
	PYTHONPATH=src:. $(BIN)/python -m tests.simulation --executions $(EXECUTIONS) $(if $(SEED),--seed $(SEED))

# The functions' services on one fixed local endpoint, for `sam local invoke` (docs/development.md, "`sam local invoke`").
local-services: $(VENV)/.installed
	$(BIN)/python -m local_aws.serve

# The operators' commands on local services, seeded with a record, an ended execution and a dead letter.
operator-demo: $(VENV)/.installed
	$(BIN)/python -m local_aws.operator_demo

# Operator commands (docs/operations.md, "Operator commands"): settings from the stack (STACK=) or the environment.
# The installed command, its help, errors and hints naming make's variables (RECORD=, EXECUTION=, YES=1, SEND=1);
# each value is passed as one argument, whatever it holds.
COMMAND = ENGINE_RESULT_NOTIFIER_VIA_MAKE=1 $(BIN)/engine-result-notifier $(if $(STACK),--stack '$(STACK)')

show-record: $(VENV)/.installed
	@$(COMMAND) show-record $(if $(RECORD),'$(RECORD)')

rescue: $(VENV)/.installed
	@$(COMMAND) rescue $(if $(EXECUTION),'$(EXECUTION)') $(if $(YES),--yes)

replay-dead-letters: $(VENV)/.installed
	@$(COMMAND) replay-dead-letters $(if $(SEND),--send)

# The figures are the Lambda runtime's: on Python 3.13 when the machine has it (found as .ci/run finds it).
# `make bench-with PYTHON=python3` measures on another interpreter (VENV=.venv-<version> keeps them apart).
bench:
	@python313="$$(.ci/find-python3.13)"; \
	if [ -n "$$python313" ]; then \
		$(MAKE) --no-print-directory bench-with PYTHON="$$python313" VENV=.venv-3.13; \
	else \
		echo "== no python3.13 on this machine: the bench runs on $$($(PYTHON) --version)" >&2; \
		$(MAKE) --no-print-directory bench-with; \
	fi

bench-with: $(VENV)/.installed
	PYTHONPATH=src $(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-3.13 $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
