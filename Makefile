# Developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BASE_URL ?= http://localhost:5000

.PHONY: help setup run test lint fmt smoke clean-services

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: ## create .venv and install the pinned test servers (SecantusDB, moto) when tools/requirements.lock changed
	scripts/services.sh setup

run: setup ## the API on :5000 (development, local files) with a SecantusDB on 127.0.0.1:27017
	scripts/run-dev.sh

test: setup ## all workspace tests against throw-away MongoDB + S3 servers on free ports
	scripts/test.sh $(TEST_ARGS)

lint: ## rustfmt check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## format the workspace
	cargo fmt --all

smoke: ## post-deploy smoke test against BASE_URL (default http://localhost:5000)
	ops/smoke $(BASE_URL)

clean-services: ## stop test/dev servers started by the scripts and remove their pid/log files (keeps .run/mongo-data)
	scripts/services.sh clean
