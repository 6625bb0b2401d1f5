# qscale: scale, watch and load-test RabbitMQ worker fleets under Docker Compose.
# `make demo` runs the main job end to end; `make test` runs every test. Both set up what is missing.

QSCALE  := node bin/qscale.js
QUEUE   ?= worker-a
COUNT   ?= 2
TASKS   ?= 20
ARGS    ?=

.PHONY: help setup build up down scale scale-all status ps logs monitor load-test autoscale demo test test-unit chaos bench clean

help:
	@echo "make setup | build | up | down | scale QUEUE=worker-a COUNT=3 | scale-all COUNT=3 | status | ps"
	@echo "make load-test TASKS=20 | monitor | demo | test | chaos | bench"

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

dist/.built: node_modules/.package-lock.json tsconfig.json scripts/bundle-cli.mjs $(shell find src templates/worker/src -name '*.ts' 2>/dev/null)
	npm run --silent build
	@touch $@

# Installs and starts what is missing: Docker engine, docker-compose, RabbitMQ, the offline base image.
setup: node_modules/.package-lock.json
	bash scripts/setup-docker.sh
	bash scripts/setup-rabbitmq.sh
	bash scripts/build-base-image.sh

# Builds the worker image (qscale/worker:local) from templates/.
build: dist/.built
	bash scripts/build-worker-image.sh

up: dist/.built
	$(QSCALE) up $(ARGS)

down: dist/.built
	$(QSCALE) down $(ARGS)

scale: dist/.built
	$(QSCALE) scale $(QUEUE) $(COUNT) $(ARGS)

scale-all: dist/.built
	$(QSCALE) scale-all $(COUNT) $(ARGS)

status: dist/.built
	$(QSCALE) status $(ARGS)

ps: dist/.built
	$(QSCALE) ps $(ARGS)

logs: dist/.built
	$(QSCALE) logs $(ARGS)

monitor: dist/.built
	$(QSCALE) logs -f $(ARGS)

load-test: dist/.built
	$(QSCALE) load-test --tasks $(TASKS) $(ARGS)

autoscale: dist/.built
	$(QSCALE) autoscale $(ARGS)

demo: setup build
	bash scripts/demo.sh

test-unit: node_modules/.package-lock.json
	npx vitest run --project unit

# Unit and integration tests, then the fault tests (chaos) in their own serial step.
test: setup build
	bash scripts/run-tests.sh

# Fault tests only: broker restarts, kills, cut connections, alarms, engine restarts, under load.
# They use a broker node of their own on 127.0.0.1:5673, never the shared one.
chaos: setup build
	bash scripts/chaos-broker.sh start
	mkdir -p build
	npx vitest run --project chaos --reporter=default --reporter=json --outputFile.json=build/vitest-chaos.json
	@node scripts/test-summary.mjs build/vitest-chaos.json

bench: setup build
	bash bench/run.sh

clean:
	rm -rf dist build
