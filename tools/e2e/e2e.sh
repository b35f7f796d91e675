#!/usr/bin/env bash
# npm run e2e: build (or find in the cache) the real-engine toolchain, then run the scenarios.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$SECONDS
tc=$(bash tools/toolchain/build.sh | tail -n 1)
echo "[e2e] toolchain ready in $((SECONDS - start)) s: $tc" >&2
exec node --import tsx tools/e2e/run.ts "$tc"
