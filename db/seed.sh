#!/usr/bin/env bash
# Seed the database with initial data (--demo: the demo data too): `astrofin db seed` (see -h).
# Runs from any working directory: the project is found from this script's own path.
set -euo pipefail
script="$(readlink -f -- "${BASH_SOURCE[0]}" 2>/dev/null || printf '%s' "${BASH_SOURCE[0]}")"
exec bash "$(dirname -- "$script")/astrofin-db.sh" seed "$0" "$@"
