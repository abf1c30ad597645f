#!/usr/bin/env bash
# Local backing services for development and tests, from the project's pinned Python venv:
#   SecantusDB (MongoDB wire protocol)  ->  .venv/bin/secantusd-py
#   moto (S3 API)                       ->  .venv/bin/moto_server
#
# Usage: scripts/services.sh <command>
#   setup        create the venv if missing; (re)install tools/requirements.lock when it changed
#   start-test   start throw-away test servers on free ports and write their settings to
#                $SERVICES_STATE_DIR/test-services.env (skips MongoDB if MONGODB_URI is set,
#                S3 if AWS_S3_ENDPOINT is set)
#   stop-test    stop what start-test started
#   start-dev    SecantusDB on 127.0.0.1:27017 with persistent data in .run/mongo-data
#                (reuses whatever already listens on 27017)
#   stop-dev     stop the dev database if start-dev started it
#   clean        stop-test, stop-dev, stop leftovers of aborted test runs, remove pid/log/env files
#                (keeps .run/mongo-data)
#
# Environment:
#   VENV_DIR            venv location (default: <repo>/.venv)
#   PYTHON              interpreter used to create the venv (default: python3)
#   SERVICES_STATE_DIR  where start-test/stop-test keep pid, log and env files (default: <repo>/.run)
#   SERVICES_TIMEOUT    seconds to wait for a server to accept connections (default: 60)
#   DEV_MONGO_PORT      port of the dev database (default: 27017)
#   DEV_MONGO_DATA      data directory of the dev database (default: <repo>/.run/mongo-data)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${VENV_DIR:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
LOCK_FILE="$ROOT/tools/requirements.lock"
RUN_DIR="$ROOT/.run"
STATE_DIR="${SERVICES_STATE_DIR:-$RUN_DIR}"
TIMEOUT="${SERVICES_TIMEOUT:-60}"
DEV_PORT="${DEV_MONGO_PORT:-27017}"
DEV_DATA="${DEV_MONGO_DATA:-$RUN_DIR/mongo-data}"
STAMP="$VENV_DIR/.requirements.lock.sha256"

log() { printf '[services] %s\n' "$*" >&2; }
die() {
    printf '[services] ERROR: %s\n' "$*" >&2
    exit 1
}

lock_hash() {
    "$PYTHON" - "$LOCK_FILE" <<'PY'
import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())
PY
}

venv_is_current() {
    [[ -x "$VENV_DIR/bin/python" && -x "$VENV_DIR/bin/secantusd-py" && -x "$VENV_DIR/bin/moto_server" ]] \
        && [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(lock_hash)" ]]
}

create_venv() {
    log "creating venv in $VENV_DIR with $PYTHON ($("$PYTHON" --version 2>&1))"
    if "$PYTHON" -m venv "$VENV_DIR"; then
        return 0
    fi
    log "'$PYTHON -m venv' failed; trying virtualenv"
    if "$PYTHON" -m virtualenv --version >/dev/null 2>&1 && "$PYTHON" -m virtualenv "$VENV_DIR"; then
        return 0
    fi
    die "cannot create a venv with $PYTHON (on Debian/Ubuntu: apt-get install python3-venv)"
}

# Creates the venv if missing and installs the pinned packages when the lock file changed since the
# last install (the lock's sha256 is kept in $STAMP). Serialised with flock so parallel runs in the
# same checkout don't install over each other.
ensure_venv() {
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found; Python 3.11 is needed for the test servers"
    [[ -f "$LOCK_FILE" ]] || die "missing $LOCK_FILE"
    if venv_is_current; then
        return 0
    fi
    mkdir -p "$(dirname "$VENV_DIR")"
    mkdir -p "$RUN_DIR"
    exec {lockfd}>"$RUN_DIR/venv-setup.lock"
    if command -v flock >/dev/null; then
        flock "$lockfd"
    fi
    if ! venv_is_current; then
        if [[ ! -x "$VENV_DIR/bin/python" ]] || ! "$VENV_DIR/bin/python" -m pip --version >/dev/null 2>&1; then
            create_venv
        fi
        log "installing pinned packages from tools/requirements.lock (this takes a minute on a fresh machine)"
        "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
            --pre -r "$LOCK_FILE"
        [[ -x "$VENV_DIR/bin/secantusd-py" ]] || die "secantusd-py missing after install"
        [[ -x "$VENV_DIR/bin/moto_server" ]] || die "moto_server missing after install"
        lock_hash >"$STAMP"
        log "venv ready: $VENV_DIR"
    fi
    exec {lockfd}>&-
}

# A TCP port that is free right now, outside the ranges reserved for other work on this machine
# (27017, 27101-27199, 9101-9199).
free_port() {
    "$PYTHON" - <<'PY'
import socket
for _ in range(50):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    if port != 27017 and not 27101 <= port <= 27199 and not 9101 <= port <= 9199:
        print(port)
        break
else:
    raise SystemExit("no free port found")
PY
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The process group of PID (from /proc, so procps isn't needed).
process_group() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $3}'
}

pid_alive() {
    [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null
}

# start_server NAME PORT LOGFILE PIDFILE COMMAND...
# Starts COMMAND in its own session (so Ctrl-C in the terminal doesn't hit it and stop can kill its
# whole process group), then waits until PORT accepts connections.
start_server() {
    local name="$1" port="$2" logfile="$3" pidfile="$4"
    shift 4
    mkdir -p "$(dirname "$logfile")" "$(dirname "$pidfile")"
    : >"$logfile"
    if command -v setsid >/dev/null; then
        setsid "$@" </dev/null >>"$logfile" 2>&1 &
    else
        "$@" </dev/null >>"$logfile" 2>&1 &
    fi
    local pid=$!
    echo "$pid" >"$pidfile"
    local deadline=$((SECONDS + TIMEOUT))
    until port_open "$port"; do
        if ! pid_alive "$pid"; then
            log "$name exited before accepting connections on port $port; its log ($logfile):"
            cat "$logfile" >&2
            rm -f "$pidfile"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "$name did not accept connections on port $port within ${TIMEOUT}s; its log ($logfile):"
            cat "$logfile" >&2
            stop_pidfile "$name" "$pidfile"
            return 1
        fi
        sleep 0.2
    done
    log "$name listening on 127.0.0.1:$port (pid $pid, log $logfile)"
}

# stop_pidfile NAME PIDFILE: SIGTERM the process (group), SIGKILL after 10 s, remove the pid file.
stop_pidfile() {
    local name="$1" pidfile="$2" pid
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile")"
    if pid_alive "$pid"; then
        local target="$pid"
        # A session leader started via setsid: signal its whole process group.
        if [[ "$(process_group "$pid")" == "$pid" ]]; then
            target="-$pid"
        fi
        kill -TERM -- "$target" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do
            pid_alive "$pid" || break
            sleep 0.2
        done
        if pid_alive "$pid"; then
            log "$name (pid $pid) ignored SIGTERM; killing"
            kill -KILL -- "$target" 2>/dev/null || true
        fi
        log "stopped $name (pid $pid)"
    fi
    rm -f "$pidfile"
}

cmd_start_test() {
    local env_file="$STATE_DIR/test-services.env"
    mkdir -p "$STATE_DIR"
    local f
    for f in "$STATE_DIR/test-mongo.pid" "$STATE_DIR/test-s3.pid"; do
        if [[ -f "$f" ]] && pid_alive "$(cat "$f")"; then
            die "test services from an earlier start-test are still running ($f); run '$0 stop-test' first"
        fi
        rm -f "$f"
    done
    ensure_venv

    local started_any=0 tmp="$env_file.tmp"
    {
        echo "# Written by scripts/services.sh start-test on $(date -u +%Y-%m-%dT%H:%M:%SZ). Source it."
    } >"$tmp"

    if [[ -n "${MONGODB_URI:-}" ]]; then
        log "MONGODB_URI is set: using that MongoDB, not starting SecantusDB"
    else
        local mport
        mport="$(free_port)"
        start_server "SecantusDB (test)" "$mport" "$STATE_DIR/test-mongo.log" "$STATE_DIR/test-mongo.pid" \
            "$VENV_DIR/bin/secantusd-py" --host 127.0.0.1 --port "$mport" --storage-path :memory: \
            || { cmd_stop_test; exit 1; }
        echo "export MONGODB_URI=mongodb://127.0.0.1:$mport" >>"$tmp"
        started_any=1
    fi

    if [[ -n "${AWS_S3_ENDPOINT:-}" ]]; then
        log "AWS_S3_ENDPOINT is set: using $AWS_S3_ENDPOINT, not starting moto"
    else
        local sport
        sport="$(free_port)"
        start_server "moto S3 (test)" "$sport" "$STATE_DIR/test-s3.log" "$STATE_DIR/test-s3.pid" \
            "$VENV_DIR/bin/moto_server" -H 127.0.0.1 -p "$sport" \
            || { cmd_stop_test; exit 1; }
        echo "export AWS_S3_ENDPOINT=http://127.0.0.1:$sport" >>"$tmp"
        [[ -n "${AWS_ACCESS_KEY_ID:-}" ]] || echo "export AWS_ACCESS_KEY_ID=test" >>"$tmp"
        [[ -n "${AWS_SECRET_ACCESS_KEY:-}" ]] || echo "export AWS_SECRET_ACCESS_KEY=test" >>"$tmp"
        [[ -n "${AWS_EC2_METADATA_DISABLED:-}" ]] || echo "export AWS_EC2_METADATA_DISABLED=true" >>"$tmp"
        started_any=1
    fi
    [[ -n "${AWS_REGION:-}" ]] || echo "export AWS_REGION=eu-central-1" >>"$tmp"
    mv "$tmp" "$env_file"
    if ((started_any == 0)); then
        log "nothing started (MONGODB_URI and AWS_S3_ENDPOINT both set)"
    fi
    log "settings written to $env_file"
}

cmd_stop_test() {
    stop_pidfile "SecantusDB (test)" "$STATE_DIR/test-mongo.pid"
    stop_pidfile "moto S3 (test)" "$STATE_DIR/test-s3.pid"
    rm -f "$STATE_DIR/test-services.env" "$STATE_DIR/test-services.env.tmp"
}

cmd_start_dev() {
    mkdir -p "$RUN_DIR"
    local pidfile="$RUN_DIR/dev-mongo.pid"
    if port_open "$DEV_PORT"; then
        if [[ -f "$pidfile" ]] && pid_alive "$(cat "$pidfile")"; then
            log "dev SecantusDB already running on 127.0.0.1:$DEV_PORT (pid $(cat "$pidfile"))"
        else
            log "something already listens on 127.0.0.1:$DEV_PORT; reusing it as the dev database"
        fi
        return 0
    fi
    rm -f "$pidfile"
    ensure_venv
    mkdir -p "$DEV_DATA"
    start_server "SecantusDB (dev)" "$DEV_PORT" "$RUN_DIR/dev-mongo.log" "$pidfile" \
        "$VENV_DIR/bin/secantusd-py" --host 127.0.0.1 --port "$DEV_PORT" --storage-path "$DEV_DATA"
    log "dev data is kept in $DEV_DATA"
}

cmd_stop_dev() {
    if [[ -f "$RUN_DIR/dev-mongo.pid" ]]; then
        stop_pidfile "SecantusDB (dev)" "$RUN_DIR/dev-mongo.pid"
    else
        log "no dev database started by this script is running"
    fi
}

cmd_clean() {
    cmd_stop_test
    cmd_stop_dev
    # Leftovers of test runs that were killed before they could clean up: .run/test-<pid>/ whose
    # scripts/test.sh process is gone. Runs still in progress are left alone.
    local dir owner
    for dir in "$RUN_DIR"/test-*/; do
        [[ -d "$dir" ]] || continue
        owner="$(basename "$dir")"
        owner="${owner#test-}"
        if [[ "$owner" =~ ^[0-9]+$ ]] && pid_alive "$owner"; then
            log "skipping $dir (test run $owner still in progress)"
            continue
        fi
        (
            STATE_DIR="${dir%/}"
            cmd_stop_test
        )
        rm -rf "$dir"
    done
    rm -f "$RUN_DIR"/*.pid "$RUN_DIR"/*.log "$RUN_DIR"/*.env
    log "cleaned $RUN_DIR (dev data in $RUN_DIR/mongo-data kept; delete it to reset the dev database)"
}

case "${1:-}" in
    setup) ensure_venv ;;
    start-test) cmd_start_test ;;
    stop-test) cmd_stop_test ;;
    start-dev) cmd_start_dev ;;
    stop-dev) cmd_stop_dev ;;
    clean) cmd_clean ;;
    *)
        sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
