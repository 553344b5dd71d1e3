#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1, for the tests of the PostgreSQL journal.
#
#   bash scripts/postgres.sh install          # Debian's postgresql package (or pgserver from PyPI)
#   bash scripts/postgres.sh start DIR PORT   # a new cluster in DIR, listening on 127.0.0.1:PORT;
#                                             # prints its URL
#   bash scripts/postgres.sh stop DIR         # stop it and remove DIR
#
# The server never runs as root: as root, it runs as the 'postgres' user (made by the package)
# or, failing that, a 'runbridge-pg' user made here; DIR's parent must then be searchable by it.
set -euo pipefail
cd "$(dirname "$0")/.."

bindir() {
  local found
  for found in /usr/lib/postgresql/*/bin; do
    [ -x "$found/pg_ctl" ] && echo "$found"
  done | sort -V | tail -n 1
  if [ -x .venv/bin/python ]; then
    .venv/bin/python - 2>/dev/null <<'EOF' || true
import importlib.util, pathlib
spec = importlib.util.find_spec("pgserver")
if spec and spec.origin:
    path = pathlib.Path(spec.origin).parent / "pginstall" / "bin"
    if (path / "pg_ctl").exists():
        print(path)
EOF
  fi
}

bin() {
  local dir
  dir=$(bindir | head -n 1)
  if [ -z "$dir" ]; then
    echo "postgres.sh: no PostgreSQL server found; run 'bash scripts/postgres.sh install'" >&2
    exit 1
  fi
  echo "$dir"
}

as_server() {  # run a command as the user the server runs as
  if [ "$(id -u)" != 0 ]; then
    "$@"
    return
  fi
  local user=postgres
  if ! id "$user" >/dev/null 2>&1; then
    user=runbridge-pg
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home "$user"
  fi
  runuser -u "$user" -- "$@"
}

server_user() {
  if [ "$(id -u)" != 0 ]; then id -un; elif id postgres >/dev/null 2>&1; then echo postgres; else echo runbridge-pg; fi
}

case "${1:-}" in
  install)
    if [ -n "$(bindir)" ]; then
      exit 0
    fi
    if command -v apt-get >/dev/null 2>&1; then
      sudo=""
      [ "$(id -u)" = 0 ] || sudo="sudo"
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
      # The package starts a cluster of its own on 5432; the tests start theirs.
      if command -v pg_ctlcluster >/dev/null 2>&1; then
        for cluster in /etc/postgresql/*/main; do
          [ -d "$cluster" ] || continue
          version=$(basename "$(dirname "$cluster")")
          $sudo pg_ctlcluster "$version" main stop >/dev/null 2>&1 || true
        done
      fi
    else
      .venv/bin/python -m pip install --quiet --disable-pip-version-check pgserver
    fi
    [ -n "$(bindir)" ] || { echo "postgres.sh: installing PostgreSQL failed" >&2; exit 1; }
    ;;
  start)
    dir=${2:?DIR}
    port=${3:?PORT}
    b=$(bin)
    mkdir -p "$dir"
    chmod 700 "$dir"
    [ "$(id -u)" = 0 ] && chown "$(server_user)" "$dir"
    as_server "$b/initdb" -D "$dir/data" -A trust -U runbridge --no-sync >/dev/null
    as_server "$b/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
    echo "postgresql://runbridge@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?DIR}
    if [ -d "$dir/data" ]; then
      as_server "$(bin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 install | start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
