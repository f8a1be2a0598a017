#!/usr/bin/env bash
# The README's test command. Installs what the tests need when the machine lacks it (Debian's chromium for the web
# page test, npm for the reference tokenizers the test build fetches, postgresql and rabbitmq-server for the store's
# and the bulk workers' tests, which start their own throwaway servers with scripts/postgres-local.sh and
# scripts/rabbitmq-local.sh), runs every test project, then tests the
# packages as a user gets them (scripts/test-packages.sh). Exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} for the tests (apt-get)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { echo "could not install ${missing[*]}: install them with apt-get and run this again"; exit 1; }
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 # the browser test drives the system chromium, never a downloaded one
dotnet test PicSharp.slnx
status=$?
scripts/test-packages.sh || status=1
exit "$status"
