#!/usr/bin/env bash
# What the five database scripts share: run `astrofin db COMMAND ARGS…` for the project this file lives in,
# from any working directory. Usage (from a wrapper): exec astrofin-db.sh COMMAND SCRIPT_NAME ARGS…
set -euo pipefail

command="$1"
export ASTROFIN_SCRIPT="$2"   # help and errors name the script the operator ran
shift 2

here="$(readlink -f -- "${BASH_SOURCE[0]}" 2>/dev/null || printf '%s' "${BASH_SOURCE[0]}")"
root="$(cd -- "$(dirname -- "$here")/.." && pwd -P)"

if command -v uv >/dev/null 2>&1 && [ -f "$root/pyproject.toml" ]; then
    exec uv run --quiet --project "$root" astrofin db "$command" "$@"
elif command -v astrofin >/dev/null 2>&1; then
    exec astrofin db "$command" "$@"
else
    echo "$(basename -- "$ASTROFIN_SCRIPT"): neither uv nor the astrofin command was found; install uv" \
        "(https://docs.astral.sh/uv/) or the astrofin package, then run this again" >&2
    exit 127
fi
