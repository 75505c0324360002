# Two commands set everything up on a fresh machine:
#   make demo   - the whole system end to end on embedded defaults
#   make test   - every test (installs what the tests need first)

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
VEHSIM := $(BIN)/vehsim
export VEHSIM_HOME ?= $(CURDIR)/.vehsim
# Maven artifacts (Apache Kafka, Spark's Kafka source, delta-spark): fetched once, kept across
# `make clean`; a second run is offline.
export VEHSIM_JARS_DIR ?= $(CURDIR)/.jars
export PYSPARK_PYTHON := $(CURDIR)/$(BIN)/python
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(BIN)/python
DEMO_OUT ?= demo-output
PYTEST_ARGS ?=

.PHONY: install jars system-deps demo demo-offline test lint bench clean

# uv installs the same pinned packages as pip, in a third of the time (parallel downloads and
# builds); pip stays in the venv for whoever adds a package by hand.
UV_VERSION ?= 0.13.9

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[all]"
	touch $@

install: $(VENV)/.installed

# Java and Maven (Debian) for the broker and the Spark connectors, then the pinned artifacts of
# vehsim/data/jvm/*/pom.xml into $(VEHSIM_JARS_DIR), and the class-data archive Spark's drivers
# start from (a minute once; each driver then starts with about a third less CPU).
jars: install
	@command -v java >/dev/null && command -v mvn >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless maven >/dev/null; }
	$(VEHSIM) jars fetch
	$(VEHSIM) spark class-archive

# Debian packages (browser for UI tests, kcat for interoperability tests) and Azurite (npm).
system-deps:
	@command -v chromium >/dev/null && command -v kcat >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium kcat >/dev/null; }
	@test -x node_modules/.bin/azurite-blob || npm install --no-save --no-audit --no-fund --silent azurite@3

demo-offline: install
	mkdir -p $(DEMO_OUT)
	$(VEHSIM) simulate --vehicle compact-sedan --cycle udds --start cold --plot $(DEMO_OUT)/udds.png --out $(DEMO_OUT)/udds.parquet
	$(VEHSIM) simulate --vehicle compact-sedan --cycle hwfet --start hot --plot $(DEMO_OUT)/hwfet.png --out $(DEMO_OUT)/hwfet.parquet

# The whole system on embedded defaults: broker, live fleet -> Kafka, Spark -> Bronze -> Silver
# -> Gold, then a fuel-consumption experiment tracked in MLflow. Four runs of the six cars (city,
# highway, aggressive, eco; 10 simulated minutes each) give Gold about 260 vehicle-minutes: the
# experiment holds out a quarter of the cars and of the runs, and trains on the rows that share
# neither (two runs left it 10 rows and a warning that the model was not worth trusting).
demo: demo-offline jars
	$(VEHSIM) broker start
	@set -e; trap '$(VEHSIM) broker stop >/dev/null' EXIT; \
	  $(VEHSIM) drive --vehicles 6 --driver cycle:udds --speedup max --duration-s 600 --rate-hz 2; \
	  $(VEHSIM) drive --vehicles 6 --driver cycle:hwfet --speedup max --duration-s 600 --rate-hz 2 --seed 3; \
	  $(VEHSIM) drive --vehicles 6 --driver profile:aggressive --speedup max --duration-s 600 --rate-hz 2 --seed 7; \
	  $(VEHSIM) drive --vehicles 6 --driver profile:eco --speedup max --duration-s 600 --rate-hz 2 --seed 11; \
	  $(VEHSIM) pipeline all; \
	  $(VEHSIM) experiment fuel
	@$(BIN)/python -m vehsim.next_steps --outputs $(DEMO_OUT)

# Three workers, each test file whole on one of them (its module fixtures start once). Much of
# the suite waits: brokers restarted after a kill, drives paced in real time, browsers, kernels
# and JVMs starting. A third worker fills those waits on two cores: in a clean-clone run on 2
# cores the cores were idle 1 % of the time with three workers (1,318 s of tests, including
# faster Silver and Gold jobs; 1,481 s with two workers before those).
PYTEST_WORKERS ?= -n 3 --dist loadfile

test: install jars system-deps
	$(BIN)/python -m pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check vehsim pipelines experiments tests benchmarks
	$(BIN)/ruff format --check vehsim pipelines experiments tests benchmarks

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VEHSIM_HOME) $(DEMO_OUT) build *.egg-info
