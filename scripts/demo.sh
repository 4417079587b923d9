#!/usr/bin/env bash
# The end-to-end demo: validate the pipeline, show its graph, run it on the sample service.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step cicd validate
step cicd graph
step cicd plan
step cicd run --output .cicd/last-run.json
