#!/usr/bin/env bash
# npm run e2e: build (or find in the cache) the real-engine toolchain, then run the scenarios.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$SECONDS
# Alternating database users are proven on real Postgres and Redis (tools/e2e/databaseRotation.ts):
# Debian's packages, installed when missing (CI starts from a fresh machine); idempotent.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "[e2e] installing redis-server (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  $apt_get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq redis-server >&2
fi
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "[e2e] installing postgresql (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  $apt_get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq postgresql postgresql-client >&2
fi
tc=$(bash tools/toolchain/build.sh | tail -n 1)
echo "[e2e] toolchain ready in $((SECONDS - start)) s: $tc" >&2
exec node --import tsx tools/e2e/run.ts "$tc"
