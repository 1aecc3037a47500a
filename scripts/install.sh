#!/bin/sh
# Install jetconsole into a virtualenv (default /opt/jetconsole) and put the
# `jetconsole` command on PATH (/usr/local/bin). Works on a fresh Debian 12 as root.
set -eu
cd "$(dirname "$0")/.."
PREFIX="${JETCONSOLE_PREFIX:-/opt/jetconsole}"

if ! python3 -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv
fi
[ -x "$PREFIX/bin/pip" ] || python3 -m venv "$PREFIX"
"$PREFIX/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$PREFIX/bin/pip" install -q --disable-pip-version-check ".${JETCONSOLE_EXTRAS:-}"
mkdir -p /usr/local/bin
ln -sf "$PREFIX/bin/jetconsole" /usr/local/bin/jetconsole
echo "jetconsole installed: $(/usr/local/bin/jetconsole --version) -> /usr/local/bin/jetconsole"
