"""Two nodes on one machine (issue 17): the preflight's duration, its link test next to ``iperf3`` on the same
veth pair, and ``jetconsole cluster up`` to Ready per phase, then ``down``.

The nodes are the tests' (tests/realparts/cluster_pair.py): two network namespaces joined by a veth pair,
each with its own sshd and private dockerd, the cluster image running the host's Ray and vLLM CPU build.
``up`` is timed twice: the Ray path (containers, env, Ray head, the worker joining; vLLM's CPU build then
refuses the Ray executor, which ends it) and vLLM's Ray-free ``--nnodes 2`` TP=2 to ``/health`` 200, with
the tiny test model.  Peers: ``iperf3`` (TCP, one way and both ways at once: an all-reduce sends both
ways); the recipe's own preflight is none, and its link test is run by hand.  Figures, not assertions::

    .venv/bin/python benchmarks/cluster_up.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ptyrun import ROOT, report_header, save_report

sys.path.insert(0, str(ROOT))

from tests.realparts.cluster_pair import CLUSTER_IMAGE, Pair, cluster_pair, import_cluster_image, ray_available
from tests.realparts.tiny_model import make_tiny_model

HEAD_IP = "10.232.0.1"


def cluster(pair: Pair, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return pair.cluster(*args, timeout=timeout)


def json_of(text: str) -> dict:
    start = text.index("{\n")
    return json.loads(text[start : text.index("\n}\n", start) + 3])


def iperf3(pair: Pair, *more: str) -> float:
    """Gbit/s received over the cable, b to a (``--bidir``: both ways at once, the mean of the two)."""
    server = subprocess.Popen(
        ["ip", "netns", "exec", pair.a.name, "iperf3", "-s", "-1", "-B", HEAD_IP],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            out = subprocess.run(["ip", "netns", "exec", pair.a.name, "ss", "-Hltn"], capture_output=True, text=True)
            if ":5201" in out.stdout:
                break
            time.sleep(0.05)
        argv = ["ip", "netns", "exec", pair.b.name, "iperf3", "-c", HEAD_IP, "-t", "5", "-J", *more]
        doc = json.loads(subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout)
    finally:
        server.wait(30)
    end = doc["end"]
    if "sum_received_bidir_reverse" in end:  # both ways at once: each direction's own figure, averaged
        return (end["sum_received"]["bits_per_second"] + end["sum_received_bidir_reverse"]["bits_per_second"]) / 2e9
    return end["sum_received"]["bits_per_second"] / 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="preflights and link tests (median)")
    parser.add_argument("--output", type=Path, help="the JSON report (default benchmarks/results/)")
    args = parser.parse_args()
    ok, why = ray_available()
    if not ok or shutil.which("iperf3") is None:
        print(f"cannot run: {why or 'iperf3 is not installed (apt-get install iperf3)'}", file=sys.stderr)
        return 2
    started, load = time.time(), os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="jc-cluster-bench-"))
    model = make_tiny_model(work / "tiny-llama")
    figures: dict[str, object] = {}
    with cluster_pair(work / "pair", nvidia=True) as pair:
        import_cluster_image(pair.daemons[0])
        pair.copy_image(CLUSTER_IMAGE)
        nodes = [*pair.nodes(), "--image", CLUSTER_IMAGE, "--volume", "/:/host"]
        plain, linked, gloo_gbit, gloo_us = [], [], [], []
        for _ in range(args.runs):
            plain.append(json.loads(cluster(pair, "preflight", *nodes, "--json").stdout)["seconds"])
            doc = json.loads(cluster(pair, "preflight", *nodes, "--json", "--link-test").stdout)
            linked.append(doc["seconds"])
            said = next(c for c in doc["checks"] if c["id"] == "link.test")["evidence"][0]
            m = re.match(r"gloo: ([\d.]+) Gbit/s .* latency (\d+) µs", said)
            assert m, said
            gloo_gbit.append(float(m.group(1)))
            gloo_us.append(int(m.group(2)))
        one_way = [iperf3(pair) for _ in range(args.runs)]
        both_ways = [iperf3(pair, "--bidir") for _ in range(args.runs)]
        figures["preflight_s"] = statistics.median(plain)
        figures["preflight_link_test_s"] = statistics.median(linked)
        figures["gloo_allreduce_gbit_s"] = statistics.median(gloo_gbit)
        figures["gloo_latency_us"] = statistics.median(gloo_us)
        figures["iperf3_gbit_s"] = statistics.median(one_way)
        figures["iperf3_bidir_gbit_s"] = statistics.median(both_ways)

        serve = "--served-model-name tiny --max-model-len 1024 --dtype float32"
        common = [*nodes, "--no-memlock", "--data", str(work / "data"), "--model", str(model), f"--serve-args={serve}"]
        for mode in ("ray", "nnodes"):
            t = time.monotonic()
            out = cluster(pair, "up", *common, "--mode", mode, "--json", "--keep")
            up_s = time.monotonic() - t
            doc = json_of(out.stdout)
            t = time.monotonic()
            cluster(pair, "down")
            figures[f"{mode}_up"] = {
                "ok": doc["ok"],
                "cause": (doc["cause"] or {}).get("key"),
                "phases_s": {p["name"]: round(p["seconds"], 2) for p in doc["phases"]},
                "command_s": round(up_s, 2),
                "down_s": round(time.monotonic() - t, 2),
            }
    shutil.rmtree(work, ignore_errors=True)
    report = report_header("cluster_up", started, load, args) | {"figures": figures}
    out_path = save_report(report, args.output)
    f = figures
    print(f"preflight: {f['preflight_s']:.2f} s median; with the link test {f['preflight_link_test_s']:.2f} s")
    print(
        f"link test (Gloo all-reduce, 64 MiB): {f['gloo_allreduce_gbit_s']:.2f} Gbit/s, "
        f"latency {f['gloo_latency_us']} µs; iperf3 on the same veth: {f['iperf3_gbit_s']:.2f} Gbit/s one way, "
        f"{f['iperf3_bidir_gbit_s']:.2f} each way at once "
        f"(all-reduce / iperf3 both ways: {f['gloo_allreduce_gbit_s'] / f['iperf3_bidir_gbit_s']:.2f}x)"
    )
    for mode in ("ray", "nnodes"):
        u = f[f"{mode}_up"]
        assert isinstance(u, dict)
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in u["phases_s"].items())
        end = "Ready" if u["ok"] else f"ended by {u['cause']}"
        print(f"up ({mode}): {phases}; {end}; command {u['command_s']:.1f} s; down {u['down_s']:.1f} s")
    print(f"results: {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
