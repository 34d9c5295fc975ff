#!/usr/bin/env bash
# A private PostgreSQL server sized for the ledger benchmark, beside the machine's own.
#
#   benchmarks/ledger/postgres.sh start    # initdb (first time) and start on port 5433
#   DOM_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5433/postgres \
#     .venv/bin/python -m benchmarks.ledger.run --backend server --stores 300 --skus 50000
#   benchmarks/ledger/postgres.sh stop
#
# A stock PostgreSQL keeps 128 MB of shared buffers and checkpoints every 1 GB of WAL; the
# position table of 300 stores x 50,000 SKUs is several times that, so every random position a
# feed touches is a buffer miss and full-page images fill the WAL. These are the settings a DBA
# would give a ledger of that size. Durability is untouched: fsync, synchronous_commit and
# full_page_writes stay on.
set -euo pipefail

DATA_DIR="${DOM_BENCH_PG_DIR:-/tmp/dom-bench-pg}"
PORT="${DOM_BENCH_PG_PORT:-5433}"
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
RUN_AS=(runuser -u postgres --)
[ "$(id -u)" -ne 0 ] && RUN_AS=()

case "${1:-}" in
start)
    if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
        mkdir -p "$DATA_DIR"
        [ "$(id -u)" -eq 0 ] && chown postgres "$DATA_DIR"
        "${RUN_AS[@]}" "$BIN/initdb" -D "$DATA_DIR" -U postgres --auth=trust >/dev/null
    fi
    "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA_DIR" -l "$DATA_DIR/server.log" -w start -o "\
        -p $PORT -k /tmp -c listen_addresses=127.0.0.1 \
        -c shared_buffers=4GB -c effective_cache_size=12GB \
        -c max_wal_size=16GB -c checkpoint_timeout=30min -c checkpoint_completion_target=0.9 \
        -c wal_compression=on -c wal_buffers=64MB"
    echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
    ;;
stop)
    "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA_DIR" -m fast -w stop
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
