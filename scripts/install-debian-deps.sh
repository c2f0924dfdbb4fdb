#!/usr/bin/env bash
# Installs Debian packages the tests and the local HA drill run on: HAProxy (the ALB stand-in), Redis,
# PostgreSQL, openssl (self-signed certificate) and jq (the boot script's settings step). With package names as
# arguments (some of those five, or util-linux), installs only those: `install-debian-deps.sh postgresql redis-server` is what the service
# tests need (scripts/test-deps.sh). Idempotent: does nothing when every binary is already there.
# Run as root (CI containers) or through sudo; never prompts (apt-get -y, DEBIAN_FRONTEND=noninteractive).
set -euo pipefail

ALL_PACKAGES=(haproxy redis-server postgresql openssl jq)
if [ "$#" -gt 0 ]; then PACKAGES=("$@"); else PACKAGES=("${ALL_PACKAGES[@]}"); fi

# Whether a program is on PATH and executable (bash's `command -v` also prints a non-executable match).
have() {
  local found
  found=$(command -v "$1" 2>/dev/null) && [ -x "$found" ]
}

# Whether the binaries of one package are installed.
installed() {
  case "$1" in
    haproxy) have haproxy || [ -x /usr/sbin/haproxy ] ;;
    redis-server) have redis-server || [ -x /usr/bin/redis-server ] ;;
    openssl) have openssl ;;
    # jq: the boot script's settings step, run in a test (test/constructs/service-settings.test.ts).
    jq) have jq ;;
    # setpriv, which runs PostgreSQL as the postgres user under root; essential on Debian, so rarely missing.
    util-linux) have setpriv ;;
    # Debian installs the server binaries under a versioned directory, outside PATH.
    postgresql)
      compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null &&
        compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
      ;;
    *)
      echo "install-debian-deps: unknown package '$1' (expected some of: ${ALL_PACKAGES[*]} util-linux)" >&2
      exit 2
      ;;
  esac
}

have_all() {
  local package
  for package in "${PACKAGES[@]}"; do installed "$package" || return 1; done
}

if have_all; then
  echo "install-debian-deps: ${PACKAGES[*]} already installed"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -E)
  else
    echo 'install-debian-deps: run as root or install sudo' >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive

# Refresh the package lists only when they are missing (fresh container) or a package is unknown to them.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ] ||
  ! apt-cache show "${PACKAGES[@]}" >/dev/null 2>&1; then
  "${SUDO[@]}" apt-get update
fi

"${SUDO[@]}" apt-get install -y --no-install-recommends "${PACKAGES[@]}"

if ! have_all; then
  echo 'install-debian-deps: packages installed but a binary is still missing' >&2
  exit 1
fi
echo 'install-debian-deps: done'
