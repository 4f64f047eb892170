# Shared by scripts/demo and scripts/test: installs Debian packages that are missing.
# usage: need_packages COMMAND:PACKAGE...
need_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
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
