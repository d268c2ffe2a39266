#!/bin/sh
# System packages the test suite needs beyond PyPI: Debian's chromium and
# chromium-driver, driven headless by tests/test_report.py. Installs them only
# when missing (with sudo when not root); does nothing otherwise.
set -eu
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium chromium-driver
