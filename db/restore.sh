#!/usr/bin/env bash
# Restore the database from a backup: `astrofin db restore` (see -h).
# Runs from any working directory: the project is found from this script's own path.
set -euo pipefail

script="$(readlink -f -- "${BASH_SOURCE[0]}" 2>/dev/null || printf '%s' "${BASH_SOURCE[0]}")"
root="$(cd -- "$(dirname -- "$script")/.." && pwd -P)"
export ASTROFIN_SCRIPT="$0"

if command -v uv >/dev/null 2>&1 && [ -f "$root/pyproject.toml" ]; then
    exec uv run --quiet --project "$root" astrofin db restore "$@"
elif command -v astrofin >/dev/null 2>&1; then
    exec astrofin db restore "$@"
else
    echo "$(basename -- "$0"): neither uv nor the astrofin command was found; install uv" \
        "(https://docs.astral.sh/uv/) or the astrofin package, then run this again" >&2
    exit 127
fi
