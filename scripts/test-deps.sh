#!/usr/bin/env bash
# Checks for the programs the service tests run (test/service, through support/local-servers.ts):
# PostgreSQL's server programs initdb and postgres, and redis-server, looked up as support/local-servers.ts
# does ($POSTGRES_BIN_DIR, else /usr/lib/postgresql/<major>/bin, else PATH; $REDIS_SERVER_BIN, else
# /usr/bin/redis-server, else PATH). Run as root, PostgreSQL also needs the `postgres` user and setpriv.
# The game day's tests (test/drill) have HAProxy check the front's configuration: /usr/sbin/haproxy, with a
# certificate made by openssl. The boot
# script's settings step runs with jq in test/constructs/service-settings.test.ts.
#
# When something is missing and this machine can install it without a prompt (Debian or Ubuntu, as root or
# with password-less sudo), installs just those packages through scripts/install-debian-deps.sh. Otherwise
# exits at once (status 1) naming each missing program and the command that installs it.
# TEST_DEPS_INSTALL=0 never installs (only checks). Silent and fast (a few ms) when everything is there.
set -euo pipefail

is_root() { [ "$EUID" -eq 0 ]; }

# The program on PATH, if executable (bash's `command -v` also prints a non-executable match).
on_path() {
  local found
  found=$(command -v "$1" 2>/dev/null) && [ -x "$found" ] && echo "$found"
}

# Prints the directory holding initdb and postgres, or fails.
postgres_bin_dir() {
  local dir
  if [ -n "${POSTGRES_BIN_DIR:-}" ]; then
    dir=$POSTGRES_BIN_DIR
    [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && echo "$dir"
    return
  fi
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then
      echo "$dir"
      return 0
    fi
  done
  dir=$(on_path initdb) || return 1
  dir=$(dirname "$(readlink -f "$dir")")
  [ -x "$dir/postgres" ] && echo "$dir"
}

has_redis_server() {
  if [ -n "${REDIS_SERVER_BIN:-}" ]; then
    [ -x "$REDIS_SERVER_BIN" ]
  else
    [ -x /usr/bin/redis-server ] || on_path redis-server >/dev/null
  fi
}

# Fills MISSING (descriptions), PACKAGES (Debian packages installing them) and PINNED (missing programs
# whose location an environment variable sets: installing a package cannot fix those).
check() {
  MISSING=()
  PACKAGES=()
  PINNED=()
  if ! postgres_bin_dir >/dev/null; then
    if [ -n "${POSTGRES_BIN_DIR:-}" ]; then
      PINNED+=("PostgreSQL's initdb and postgres are not both in POSTGRES_BIN_DIR=$POSTGRES_BIN_DIR")
    else
      MISSING+=("PostgreSQL server programs initdb and postgres (package postgresql)")
      PACKAGES+=(postgresql)
    fi
  elif is_root && ! id -u postgres >/dev/null 2>&1; then
    # Run as root, the tests run PostgreSQL as this user; the Debian package creates it.
    MISSING+=("the postgres system user, which runs PostgreSQL when the tests run as root (package postgresql)")
    PACKAGES+=(postgresql)
  fi
  if is_root && ! command -v setpriv >/dev/null 2>&1; then
    MISSING+=("setpriv, which runs PostgreSQL as the postgres user when the tests run as root (package util-linux)")
    PACKAGES+=(util-linux)
  fi
  if ! on_path jq >/dev/null; then
    MISSING+=("jq, which the boot script's settings step runs in its test (package jq)")
    PACKAGES+=(jq)
  fi
  if ! on_path openssl >/dev/null; then
    MISSING+=("openssl, which makes the certificate HAProxy's configuration check needs in test/drill (package openssl)")
    PACKAGES+=(openssl)
  fi
  if [ ! -x /usr/sbin/haproxy ]; then
    MISSING+=("HAProxy at /usr/sbin/haproxy, which checks the game day's configuration (package haproxy)")
    PACKAGES+=(haproxy)
  fi
  if ! has_redis_server; then
    if [ -n "${REDIS_SERVER_BIN:-}" ]; then
      PINNED+=("redis-server is not at REDIS_SERVER_BIN=$REDIS_SERVER_BIN")
    else
      MISSING+=("redis-server (package redis-server)")
      PACKAGES+=(redis-server)
    fi
  fi
}

check
if [ "${#MISSING[@]}" -eq 0 ] && [ "${#PINNED[@]}" -eq 0 ]; then exit 0; fi

fail() {
  local item sudo=''
  is_root || sudo='sudo '
  {
    echo 'test-deps: the service tests need programs that are missing:'
    for item in "${PINNED[@]}"; do echo "  - $item: set it to where the program is, or unset it"; done
    for item in "${MISSING[@]}"; do echo "  - $item"; done
    if [ "${#PACKAGES[@]}" -gt 0 ]; then
      if command -v apt-get >/dev/null 2>&1; then
        echo 'Install them with:'
        echo "  ${sudo}apt-get update && ${sudo}apt-get install -y ${PACKAGES[*]}"
        echo "(or \`npm run drill:deps\`, which also installs what the local HA drill needs), then run the tests again."
      else
        echo "Install them with your system's package manager (PostgreSQL server, Redis, HAProxy), or set POSTGRES_BIN_DIR"
        echo 'to the directory holding initdb and postgres and REDIS_SERVER_BIN to the redis-server program.'
        echo "On Debian or Ubuntu: ${sudo}apt-get update && ${sudo}apt-get install -y ${PACKAGES[*]}"
      fi
    fi
  } >&2
  exit 1
}

can_install() {
  [ "${TEST_DEPS_INSTALL:-1}" != 0 ] && [ "${#PINNED[@]}" -eq 0 ] && command -v apt-get >/dev/null 2>&1 &&
    { is_root || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; }
}

can_install || fail

echo "test-deps: installing ${PACKAGES[*]} for the service tests (apt-get, non-interactive)" >&2
bash "$(dirname "$0")/install-debian-deps.sh" "${PACKAGES[@]}" >&2 || fail
check
[ "${#MISSING[@]}" -eq 0 ] || fail
