#!/usr/bin/env bash
# Installs Debian's chromium (if missing) for the browser test of the HTML report; the test
# drives /usr/bin/chromium through playwright and never downloads a browser of its own.
# Usage: bash .ci/chromium.sh
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
/usr/bin/chromium --version >&2
