#!/usr/bin/env bash
# Installs Debian's chromium for the tests that open HTML reports in a real headless browser (components/report/,
# pipeline/run_report_test.py; conftest.py's open_in_chromium). Needs root and Debian's package mirrors; does
# nothing if chromium is already there.
set -euo pipefail
if command -v chromium >/dev/null; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "note: no chromium and no root/apt-get to install one: the browser tests will be skipped" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "installed $(chromium --version)"
