#!/usr/bin/env bash
# Fuzz the live API with Schemathesis, against its own OpenAPI document.
#
#   scripts/fuzz.sh [SECONDS]        (default 120; needs: pip install '.[fuzz]')
#
# Starts a real gunicorn (2 workers) on a free loopback port with a fresh
# SQLite database, makes a user and a token for the run, and runs every
# documented operation with Schemathesis' default checks (not_a_server_error,
# response schema conformance, ...). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
bin=$(dirname "$(command -v python)")

workdir=$(mktemp -d)
port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MYTHING_DATABASE_URI="sqlite:///$workdir/fuzz.db"
# The fuzzer sends thousands of requests a minute; limits are tested elsewhere.
export MYTHING_RATELIMIT_ENABLED=off

"$bin/mything" create-user fuzzer >/dev/null
token=$("$bin/mything" create-token fuzzer)

# gunicorn answers request lines over 4094 bytes itself, with an HTML 414,
# before mything sees them; the fuzzer writes longer ones, and mything is what
# is under test here.
"$bin/gunicorn" --workers 2 --bind "127.0.0.1:$port" --limit-request-line 0 \
    'mything:MyThing()' >"$workdir/gunicorn.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$workdir"' EXIT
for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.2
done

# The run has one token; revoking it (DELETE /me/tokens/current, or its id)
# would leave every later request a 401. tests/test_tokens.py covers both.
# One Schemathesis worker: its workers are threads, and Hypothesis parses
# source with ast.parse, whose recursion counter CPython 3.11 shares between
# threads; two at once fail now and then with "SystemError: AST constructor
# recursion depth mismatch" (python/cpython#106905), an error of the fuzzer's
# own that fails the run.
"$bin/schemathesis" --config-file scripts/schemathesis.toml run \
    "http://127.0.0.1:$port/openapi.json" \
    --header "Authorization: Bearer $token" \
    --exclude-operation-id-regex '^tokens_revoke_' \
    --workers 1 \
    --max-time "$seconds"
