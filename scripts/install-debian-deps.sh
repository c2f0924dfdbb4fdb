#!/usr/bin/env bash
# Installs the Debian packages the local HA drill runs on: HAProxy (the ALB stand-in), Redis, PostgreSQL
# and openssl (self-signed certificate). Idempotent: does nothing when every binary is already there.
# Run as root (CI containers) or through sudo; never prompts.
set -euo pipefail

PACKAGES=(haproxy redis-server postgresql openssl)

have_all() {
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || return 1
  command -v redis-server >/dev/null 2>&1 || return 1
  command -v openssl >/dev/null 2>&1 || return 1
  # Debian installs the server binaries under a versioned directory, outside PATH.
  compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || return 1
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || return 1
}

if have_all; then
  echo 'install-debian-deps: haproxy, redis-server, postgresql and openssl are already installed'
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
