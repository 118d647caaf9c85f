#!/usr/bin/env bash
# Runs every test of the solution: the one command the README and CI use.
# Installs what the tests need from the system's package manager when it is missing and we are root
# (PostgreSQL server binaries, Chromium, Node.js/npm); otherwise says exactly what to install.
set -euo pipefail
cd "$(dirname "$0")"

have_postgres() {
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

install_packages() {
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing $* with apt-get…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "test.sh: missing prerequisites; install them first: sudo apt-get install $*" >&2
    exit 1
  fi
}

missing=()
have_postgres || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)   # browser tests drive Debian's Chromium, never a downloaded one
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)   # the dashboard is built with npm
[ ${#missing[@]} -eq 0 ] || install_packages "${missing[@]}"

exec dotnet test Ops.sln "$@"
