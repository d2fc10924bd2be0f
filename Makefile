# Two entry points on a fresh machine:
#   make demo   - bootstrap, then deploy -> failover -> failback on the local sandbox, with a report
#   make test   - bootstrap, then lint, sanity, unit, sandbox and integration tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
COLLECTION_BUILD := .build/ansible_collections/eks_ha/resilience
# Tools the tests start (ansible-playbook, ansible-inventory) come from the virtual environment.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test bootstrap mariadb lint sanity units sandbox-tests molecule integration benchmark clean

bootstrap: $(STAMP) mariadb

# The sandbox runs MariaDB servers of its own (Debian's mariadb-server), never the system service: install
# the packages where mariadbd is missing, and stop the service if the package started one.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
mariadb:
	@if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then \
	  echo "Installing mariadb-server and mariadb-client (the sandbox's databases)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    mariadb-server mariadb-client >/dev/null && \
	  { $(SUDO) service mariadb stop >/dev/null 2>&1 || true; }; \
	fi

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

# make demo INVENTORY=inventories/<name> drills one architecture (or several, space-separated) instead of the default four.
INVENTORY ?=
demo: bootstrap
	$(BIN)/python -m sandbox.demo $(foreach inventory,$(INVENTORY),-i $(inventory))

test: bootstrap
	$(MAKE) --no-print-directory lint sanity units sandbox-tests molecule integration

lint:
	$(BIN)/ansible-lint --profile production

# ansible-test wants the collection under ansible_collections/<namespace>/<name>: test exactly what Galaxy ships.
ANSIBLE_TEST_PIP_CACHE := $(HOME)/.ansible/test/cache/get_pip_24_2.py

sanity:
	mkdir -p $(dir $(ANSIBLE_TEST_PIP_CACHE)) && cp tests/sanity/get_pip.py $(ANSIBLE_TEST_PIP_CACHE)
	rm -rf .build && mkdir -p $(COLLECTION_BUILD)
	$(BIN)/ansible-galaxy collection build --force --output-path .build .
	tar -xzf .build/eks_ha-resilience-*.tar.gz -C $(COLLECTION_BUILD)
	# Dependencies must sit beside the collection: take amazon.aws from the pinned ansible bundle.
	cp -r $(VENV)/lib/python3.11/site-packages/ansible_collections/amazon .build/ansible_collections/
	cd $(COLLECTION_BUILD) && git init --quiet . && git add -A && \
	  ../../../../$(BIN)/ansible-test sanity --python 3.11 --requirements --color no

units:
	$(BIN)/python -m pytest tests/unit -q

# Test files run two at a time (each has its own sandbox, or its own copy of the session sandbox).
PYTEST_PARALLEL := -n 2 --dist loadfile

sandbox-tests:
	$(BIN)/python -m pytest tests/sandbox -q $(PYTEST_PARALLEL)

# Every role's scenario: check, converge, idempotence and verify against a sandbox of its own.
MOLECULE_SCENARIOS := $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
molecule:
	for scenario in $(MOLECULE_SCENARIOS); do $(BIN)/molecule test -s $$scenario || exit 1; done

integration:
	$(BIN)/python -m pytest tests/integration -q $(PYTEST_PARALLEL)

benchmark: bootstrap
	$(BIN)/python benchmarks/failover_vs_peer.py

clean:
	-$(BIN)/python -m sandbox down
	rm -rf .build .sandbox
