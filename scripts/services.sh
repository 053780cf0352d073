#!/usr/bin/env bash
# The services the scale-out tests need (docs/deployment.md), on loopback:
# NATS with JetStream on 127.0.0.1:4222 and PostgreSQL on 127.0.0.1:5432
# with a `callscope` role and a `callscope_test` database. Installs
# nats-server and postgresql from Debian if missing and starts what is not
# running; idempotent, safe to re-run. Needs root (CI runs as root), or
# sudo.
#
# Prints the URLs as shell exports on stdout (everything else goes to
# stderr), so a caller does:
#
#     eval "$(scripts/services.sh)"
#
# and also writes them to $CALLSCOPE_CACHE/services.env for later shells.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# Only the exports go to stdout (the caller evals them); everything the
# tools print goes to stderr. The daemons started below must not inherit
# fd 3: it is the caller's `$(...)` pipe, and a server holding it open
# makes the caller wait for EOF forever.
exec 3>&1 1>&2

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
STATE="${CALLSCOPE_SERVICES_DIR:-$CALLSCOPE_CACHE/services}"
NATS_PORT="${CALLSCOPE_NATS_PORT:-4222}"
PG_PORT="${CALLSCOPE_PG_PORT:-5432}"
mkdir -p "$STATE"

log() { echo "services: $*" >&2; }

# Replace this (sub)shell by a command that starts a server, keeping no
# descriptor of ours but stdin/stdout/stderr (which the caller redirects):
# not fd 3, not any pipe the shell or CI inherited. A server holding such a
# pipe keeps its reader waiting for EOF long after this script is done.
# Call it in a subshell: `detached cmd... &` or `(detached cmd...)`.
detached() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  exec "$@"
}

# Is something accepting connections on 127.0.0.1:$1?
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local port=$1 name=$2
  for _ in $(seq 1 100); do
    if listening "$port"; then return 0; fi
    sleep 0.2
  done
  log "$name did not start on 127.0.0.1:$port; see its log in $STATE"
  return 1
}

need=()
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends "${need[@]}" >/dev/null
fi

# NATS with JetStream, its store under $STATE/nats.
if listening "$NATS_PORT"; then
  log "nats already listening on 127.0.0.1:$NATS_PORT"
else
  log "starting nats-server (JetStream) on 127.0.0.1:$NATS_PORT"
  mkdir -p "$STATE/nats"
  detached setsid nohup "$(command -v nats-server)" -js -a 127.0.0.1 -p "$NATS_PORT" \
    -sd "$STATE/nats" >"$STATE/nats.log" 2>&1 </dev/null &
  wait_for "$NATS_PORT" nats-server
fi

# PostgreSQL: Debian's cluster (pg_ctlcluster), created if the package
# left none, listening on loopback.
if listening "$PG_PORT"; then
  log "postgresql already listening on 127.0.0.1:$PG_PORT"
else
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}' | grep -qx "$version/main"; then
    log "creating PostgreSQL $version cluster main"
    $SUDO pg_createcluster "$version" main -p "$PG_PORT" -- --auth-local=peer \
      --auth-host=scram-sha-256 >/dev/null
  fi
  log "starting PostgreSQL $version cluster main on 127.0.0.1:$PG_PORT"
  (detached $SUDO pg_ctlcluster "$version" main start </dev/null)
  wait_for "$PG_PORT" postgresql
fi

# The test role and database (password auth over TCP).
if [ -z "$SUDO" ]; then as_postgres=(runuser -u postgres --); else as_postgres=(sudo -u postgres); fi
psql_admin() { (cd / && "${as_postgres[@]}" psql -p "$PG_PORT" -v ON_ERROR_STOP=1 -qtA "$@"); }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'callscope'")" != 1 ]; then
  psql_admin -c "CREATE ROLE callscope LOGIN PASSWORD 'callscope'" >/dev/null
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'callscope_test'")" != 1 ]; then
  psql_admin -c "CREATE DATABASE callscope_test OWNER callscope" >/dev/null
fi

cat >"$CALLSCOPE_CACHE/services.env" <<EOF
export CALLSCOPE_TEST_PG_URL="postgres://callscope:callscope@127.0.0.1:$PG_PORT/callscope_test"
export CALLSCOPE_TEST_NATS_URL="nats://127.0.0.1:$NATS_PORT"
export CALLSCOPE_TEST_PG_RESTART="${SUDO:+$SUDO }pg_ctlcluster $(ls /usr/lib/postgresql | sort -V | tail -1) main restart"
EOF
log "ready; URLs in $CALLSCOPE_CACHE/services.env"
cat "$CALLSCOPE_CACHE/services.env" >&3
