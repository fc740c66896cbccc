#!/usr/bin/env bash
# Create a verified, compressed backup of the database: `astrofin db backup` (see -h).
# Runs from any working directory: the project is found from this script's own path.
set -euo pipefail
script="$(readlink -f -- "${BASH_SOURCE[0]}" 2>/dev/null || printf '%s' "${BASH_SOURCE[0]}")"
exec bash "$(dirname -- "$script")/astrofin-db.sh" backup "$0" "$@"
