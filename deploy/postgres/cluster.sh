#!/usr/bin/env bash
# A PostgreSQL 15 primary and a synchronous standby on loopback, for ordergate's shared guard
# (idempotency/postgres_store.h) in tests and on a developer's machine. Debian's binaries only
# (/usr/lib/postgresql/15/bin, override with PG_BIN); no system service, no systemd, nothing outside
# DIR is written.
#
#   deploy/postgres/cluster.sh start DIR     # last line of output: the primary's DSN
#   deploy/postgres/cluster.sh promote DIR   # stops the old primary (if running), promotes the
#                                            # standby; last line: the new primary's DSN
#   deploy/postgres/cluster.sh dsn DIR       # the current primary's DSN
#   deploy/postgres/cluster.sh stop DIR      # stops whatever of the two runs
#
# Ports: PG_PRIMARY_PORT / PG_STANDBY_PORT, else free ephemeral ports picked at start. Both servers
# listen on 127.0.0.1 only (no Unix socket), trust authentication from 127.0.0.1 (a test cluster:
# never expose it). synchronous_standby_names names the standby, synchronous_commit = on: a COMMIT
# returns only once the standby has flushed its WAL, so an acknowledged transaction survives the
# primary's loss. After `promote` the new primary has no standby and runs with
# synchronous_standby_names = '' (a commit waiting for a standby that is gone would hang forever).
#
# PostgreSQL refuses to run as root: run as root, the servers run as the `postgres` user (created by
# Debian's postgresql-15 package) and DIR is given to it; otherwise as the current user.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DB_NAME=ordergate

die() { echo "cluster.sh: $*" >&2; exit 1; }

usage() { die "usage: $0 start|promote|dsn|stop DIR"; }

[ $# -eq 2 ] || usage
CMD=$1
DIR=$2

for b in initdb pg_ctl pg_basebackup postgres psql; do
  if [ "$b" = psql ]; then
    command -v psql >/dev/null || [ -x "$PG_BIN/psql" ] || die "psql not found (install postgresql-client-15)"
  else
    [ -x "$PG_BIN/$b" ] || die "$PG_BIN/$b not found (install postgresql-15, or set PG_BIN)"
  fi
done

# as_pg CMD...: runs CMD as the server's user.
RUN_AS=""
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root and there is no 'postgres' user to run the servers as"
  RUN_AS=postgres
fi
as_pg() {
  if [ -n "$RUN_AS" ]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}
PG_USER=${RUN_AS:-$(id -un)}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

is_running() { [ -f "$1/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" status -D "$1" >/dev/null 2>&1; }

dsn_for_port() {
  echo "host=127.0.0.1 port=$1 user=$PG_USER dbname=$DB_NAME sslmode=disable"
}

state_get() { sed -n "s/^$1=//p" "$DIR/cluster.env"; }

start_server() {  # DATADIR LOGFILE
  as_pg "$PG_BIN/pg_ctl" start -D "$1" -l "$2" -w -t 60 -o "-c unix_socket_directories=''" >/dev/null ||
    { tail -n 20 "$2" >&2; die "server in $1 did not start (log: $2)"; }
}

case "$CMD" in
  start)
    if [ -f "$DIR/cluster.env" ]; then
      # Already initialised: start what is stopped (idempotent), print the current primary's DSN.
      p=$(state_get primary_dir)
      s=$(state_get standby_dir)
      is_running "$DIR/$p" || start_server "$DIR/$p" "$DIR/$p.log"
      if [ -n "$s" ] && ! is_running "$DIR/$s"; then start_server "$DIR/$s" "$DIR/$s.log"; fi
      dsn_for_port "$(state_get primary_port)"
      exit 0
    fi
    mkdir -p "$DIR"
    [ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty and holds no cluster.env: refusing to touch it"
    if [ -n "$RUN_AS" ]; then
      chown "$RUN_AS" "$DIR"
      runuser -u "$RUN_AS" -- test -w "$DIR" ||
        die "user $RUN_AS cannot write $DIR (a parent directory is not searchable by it?)"
    fi
    PPORT=${PG_PRIMARY_PORT:-$(free_port)}
    SPORT=${PG_STANDBY_PORT:-$(free_port)}
    [ "$PPORT" != "$SPORT" ] || SPORT=$(free_port)
    as_pg "$PG_BIN/initdb" -D "$DIR/a" -U "$PG_USER" --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
    as_pg tee -a "$DIR/a/postgresql.conf" >/dev/null <<CONF
# ordergate test cluster (deploy/postgres/cluster.sh)
listen_addresses = '127.0.0.1'
port = $PPORT
wal_level = replica
max_wal_senders = 4
max_replication_slots = 4
hot_standby = on
synchronous_commit = on
synchronous_standby_names = 'ordergate_standby'
max_connections = 100
shared_buffers = 64MB
fsync = on
CONF
    as_pg tee "$DIR/a/pg_hba.conf" >/dev/null <<HBA
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
HBA
    # Start without waiting for a standby: the database is created before the standby exists, so
    # synchronous_standby_names is switched on only once the standby is streaming.
    as_pg tee -a "$DIR/a/postgresql.auto.conf" >/dev/null <<<"synchronous_standby_names = ''"
    start_server "$DIR/a" "$DIR/a.log"
    as_pg "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PPORT" -U "$PG_USER" -d postgres \
      -c "CREATE DATABASE $DB_NAME" >/dev/null || die "CREATE DATABASE failed"
    as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PPORT" -U "$PG_USER" -D "$DIR/b" -R -X stream --checkpoint=fast \
      -C -S ordergate_standby >"$DIR/basebackup.log" 2>&1 ||
      { cat "$DIR/basebackup.log" >&2; die "pg_basebackup failed"; }
    as_pg tee -a "$DIR/b/postgresql.auto.conf" >/dev/null <<CONF
port = $SPORT
primary_conninfo = 'host=127.0.0.1 port=$PPORT user=$PG_USER application_name=ordergate_standby'
primary_slot_name = 'ordergate_standby'
synchronous_standby_names = ''
CONF
    start_server "$DIR/b" "$DIR/b.log"
    # Now make the primary's commits wait for the standby.
    as_pg "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PPORT" -U "$PG_USER" -d postgres \
      -c "ALTER SYSTEM SET synchronous_standby_names = 'ordergate_standby'" -c "SELECT pg_reload_conf()" \
      >/dev/null || die "enabling synchronous replication failed"
    ok=""
    for _ in $(seq 1 100); do
      st=$(as_pg "$PG_BIN/psql" -X -A -t -h 127.0.0.1 -p "$PPORT" -U "$PG_USER" -d postgres \
        -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'ordergate_standby'")
      if [ "$st" = sync ]; then ok=1; break; fi
      sleep 0.1
    done
    [ -n "$ok" ] || die "the standby did not become synchronous within 10 s (logs: $DIR/a.log, $DIR/b.log)"
    printf 'primary_dir=a\nprimary_port=%s\nstandby_dir=b\nstandby_port=%s\n' "$PPORT" "$SPORT" \
      >"$DIR/cluster.env"
    dsn_for_port "$PPORT"
    ;;
  promote)
    [ -f "$DIR/cluster.env" ] || die "$DIR holds no cluster (no cluster.env)"
    p=$(state_get primary_dir)
    s=$(state_get standby_dir)
    [ -n "$s" ] || die "no standby left to promote (already promoted)"
    # Fence the old primary first: two writable primaries must never coexist.
    if is_running "$DIR/$p"; then as_pg "$PG_BIN/pg_ctl" stop -D "$DIR/$p" -m immediate -w >/dev/null; fi
    is_running "$DIR/$s" || start_server "$DIR/$s" "$DIR/$s.log"
    as_pg "$PG_BIN/pg_ctl" promote -D "$DIR/$s" -w -t 60 >/dev/null || die "promote failed (log: $DIR/$s.log)"
    sport=$(state_get standby_port)
    printf 'primary_dir=%s\nprimary_port=%s\nstandby_dir=\nstandby_port=\nold_primary_dir=%s\n' \
      "$s" "$sport" "$p" >"$DIR/cluster.env"
    dsn_for_port "$sport"
    ;;
  dsn)
    [ -f "$DIR/cluster.env" ] || die "$DIR holds no cluster (no cluster.env)"
    dsn_for_port "$(state_get primary_port)"
    ;;
  stop)
    [ -d "$DIR" ] || exit 0
    for d in a b; do
      if is_running "$DIR/$d"; then as_pg "$PG_BIN/pg_ctl" stop -D "$DIR/$d" -m fast -w >/dev/null || true; fi
    done
    ;;
  *) usage ;;
esac
