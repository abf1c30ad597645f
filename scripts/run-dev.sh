#!/usr/bin/env bash
# `make run`: the API on http://localhost:5000 for development, with local file storage and a
# SecantusDB on 127.0.0.1:27017 (data kept in .run/mongo-data). A database this script started is
# stopped again when the API exits or on Ctrl-C; one that was already running is left alone.
# Set MONGODB_URI to use another database instead (nothing is started then).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

started_db=0

# shellcheck disable=SC2317 # called through the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if ((started_db)); then
        echo "==> stopping the dev database this run started"
        scripts/services.sh stop-dev || true
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z "${MONGODB_URI:-}" ]]; then
    dev_port="${DEV_MONGO_PORT:-27017}"
    if (exec 3<>"/dev/tcp/127.0.0.1/$dev_port") 2>/dev/null; then
        scripts/services.sh start-dev # reports what it reuses
    else
        started_db=1
        scripts/services.sh start-dev
    fi
    export MONGODB_URI="mongodb://127.0.0.1:$dev_port"
fi

export APP_ENV="${APP_ENV:-development}"
export FILE_STORAGE_MODE="${FILE_STORAGE_MODE:-local}"
echo "==> APP_ENV=$APP_ENV FILE_STORAGE_MODE=$FILE_STORAGE_MODE; API on http://localhost:${PORT:-5000} (Ctrl-C stops)"
set +e
cargo run -p api --bin api "$@"
rc=$?
set -e
exit "$rc"
