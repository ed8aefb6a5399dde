#!/usr/bin/env bash
# The whole test suite on a fresh machine: install, start services, lint, type-check, test.
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/dev/install.sh
source deploy/dev/services.sh
install_lienthong
ensure_services
ensure_chromium
ruff check schemas hub agency_adapter tests
ruff format --check schemas hub agency_adapter tests
mypy
pytest "$@"
