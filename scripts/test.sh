#!/usr/bin/env bash
# `make test`: start throw-away MongoDB (SecantusDB) and S3 (moto) servers on free ports, run
# `cargo test --workspace --all-targets` against them, and always stop them again. The exit code is
# cargo's. Arguments replace the default selection (e.g. `scripts/test.sh -p e2e-tests --test legacy`,
# or `scripts/test.sh --workspace -- --nocapture`).
#
# Set MONGODB_URI and/or AWS_S3_ENDPOINT (+ AWS credentials) to test against real services; the
# matching local server is then not started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# One state directory per run, so parallel `make test` runs in the same checkout don't share or stop
# each other's servers. `make clean-services` removes leftovers of killed runs.
export SERVICES_STATE_DIR="$ROOT/.run/test-$$"
services_started=0

# shellcheck disable=SC2317 # called through the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if ((services_started)); then
        echo "==> stopping test services"
        scripts/services.sh stop-test || true
    fi
    if ((rc == 0)); then
        rm -rf "$SERVICES_STATE_DIR"
    elif [[ -d "$SERVICES_STATE_DIR" ]]; then
        echo "==> test service logs kept in $SERVICES_STATE_DIR" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> starting test services"
services_started=1
scripts/services.sh start-test

# shellcheck source=/dev/null
source "$SERVICES_STATE_DIR/test-services.env"

echo "==> test services in use:"
if [[ -f "$SERVICES_STATE_DIR/test-mongo.pid" ]]; then
    echo "    MongoDB: $MONGODB_URI  (SecantusDB, in-memory, started for this run; log $SERVICES_STATE_DIR/test-mongo.log)"
else
    shown="$MONGODB_URI"
    if [[ "$shown" == *://*@* ]]; then # hide credentials
        shown="${shown%%://*}://***@${shown##*@}"
    fi
    echo "    MongoDB: $shown (from your environment; not started here)"
fi
if [[ -f "$SERVICES_STATE_DIR/test-s3.pid" ]]; then
    echo "    S3:      $AWS_S3_ENDPOINT  (moto, started for this run; log $SERVICES_STATE_DIR/test-s3.log)"
else
    echo "    S3:      $AWS_S3_ENDPOINT (from your environment; not started here)"
fi
echo "    AWS_REGION=$AWS_REGION"

# Arguments select what to run (`-p e2e-tests --test legacy`); without any, everything runs.
if (($# == 0)); then
    set -- --workspace --all-targets
fi
echo "==> cargo test $*"
set +e
cargo test "$@"
rc=$?
set -e
echo "==> cargo test exited with $rc"
exit "$rc"
