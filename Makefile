# One command sets up and runs each thing; `make test` is what CI runs.
PYTHON ?= python3
VENV ?= .venv
# A GPU host may want another build, e.g. TORCH="torch --index-url https://download.pytorch.org/whl/cu124"
TORCH ?= torch==2.13.0
EXTRAS ?= dev
BIN := $(VENV)/bin
comma := ,
# Each command installs only the extras it needs (a stamp per set; `+` separates extras in its name).
# The bot with generator.backend: http needs no torch: make bot BOT_EXTRAS=bot
BOT_EXTRAS ?= model+bot
installed = $(VENV)/.installed-$(1)

.PHONY: setup test test-fast lint chat tiny-model demo-model
setup: $(call installed,$(EXTRAS))

# torch goes first, so the project's torch range is already satisfied and no other build is pulled;
# a venv that already holds `dev` (everything) installs nothing more.
$(VENV)/.installed-%: pyproject.toml
	@if [ $(VENV)/.installed-dev -nt pyproject.toml ]; then touch $@; exit 0; fi; set -ex; \
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	$(BIN)/python -m pip install -q --upgrade pip; \
	$(if $(filter-out bot api,$(subst +, ,$*)),$(BIN)/python -m pip install -q $(TORCH);) \
	$(BIN)/python -m pip install -q -e ".[$(subst +,$(comma),$*)]"; \
	touch $@

test: $(call installed,dev)
	$(BIN)/lint-imports
	$(MAKE) lint
	$(BIN)/pytest

# ruff's rules and format, then mypy on the installed package names (tinktalker.*): the folders are
# linked under build/typecheck/tinktalker so imports resolve as they do once installed.
TYPECHECKED := domain ports adapters entrypoints training
lint: $(call installed,dev)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p build/typecheck/tinktalker
	for p in $(TYPECHECKED); do ln -sfn ../../../$$p build/typecheck/tinktalker/$$p; done
	MYPYPATH=build/typecheck $(BIN)/mypy -p tinktalker.domain -p tinktalker.ports \
		-p tinktalker.adapters -p tinktalker.entrypoints

# Unit tests only: no processes, servers or real training runs (tests marked slow; see tests/conftest.py)
test-fast: $(call installed,dev)
	$(BIN)/pytest -m "not slow"

chat: $(call installed,model)
	$(BIN)/tinktalker chat $(if $(MODEL),--model $(MODEL))

# A random-weight model folder, to try everything offline (it talks gibberish, and chat/serve/bot say so).
tiny-model: $(call installed,model)
	$(BIN)/python -m devkit.tiny_model $(or $(OUT),tiny-model)

# A tiny model trained on a sample chat in about a minute: `make chat MODEL=demo-model` answers in its words.
DEMO_CHAT ?= bench/data/sample_chat.csv
DEMO := $(or $(OUT),demo-model)
demo-model: $(call installed,train)
	rm -rf $(DEMO) $(DEMO).random-base
	HF_HUB_DISABLE_PROGRESS_BARS=1 $(BIN)/python -m devkit.tiny_model $(DEMO).random-base $(DEMO_CHAT) >/dev/null
	$(BIN)/tinktalker train --model $(DEMO).random-base --data $(DEMO_CHAT) --output $(DEMO) --no-progress
	rm -rf $(DEMO).random-base

# The Telegram bot (token from TELEGRAM_TOKEN; see the README's bot section).
.PHONY: bot
bot: $(call installed,$(BOT_EXTRAS))
	$(BIN)/tinktalker bot $(if $(MODEL),--model $(MODEL))

# The inference API on http://127.0.0.1:8000 (see the README's API section).
.PHONY: serve bench-api
serve: $(call installed,model+api)
	$(BIN)/tinktalker serve $(if $(MODEL),--model $(MODEL))

# Replies/s and latency with batching on vs off, 1/4/16 clients (writes bench/results/api_batching.*)
bench-api: setup
	$(BIN)/python bench/api_batching.py

.PHONY: train dataset bench-train bench-export
# Fine-tune on a chat: make train DATA=result.json OUT=trained [ARGS="--limit 60000 --resume"]
# (a Telegram Desktop export, JSON Lines from `make dataset`, or a CSV; see the README)
train: $(call installed,train)
	$(BIN)/tinktalker train $(if $(DATA),--data $(DATA)) $(if $(OUT),--output $(OUT)) $(if $(MODEL),--model $(MODEL)) $(ARGS)

# The examples training would use: make dataset DATA=result.json OUT=examples.jsonl
dataset: $(call installed,train)
	$(BIN)/tinktalker dataset $(if $(DATA),--data $(DATA)) $(if $(OUT),--output $(OUT)) $(ARGS)

# Reading a generated Telegram export: seconds and peak memory (writes bench/results/telegram_export.*)
bench-export: $(call installed,train)
	$(BIN)/python -m bench.telegram_export $(ARGS)

# Seconds per epoch: the original recipe vs HF Trainer vs training/ (writes bench/results/train_speed_cpu.*)
bench-train: $(call installed,train)
	$(BIN)/python -m bench.train_speed
