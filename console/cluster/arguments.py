"""``jetconsole cluster``'s arguments: apart from its command module, so that building the command line
does not load the fleet's SSH and planning code (start-up stays quick)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="cluster_command", metavar="plan|preflight|up|status|down", required=True)
    _plan_arguments(sub.add_parser("plan", help="every node's docker run, ray start and vllm serve lines"))
    preflight = sub.add_parser("preflight", help="check both nodes over SSH: link, ports, image, memory, env")
    _plan_arguments(preflight)
    preflight.add_argument(
        "--link-test", action="store_true", help="also an all-reduce between the nodes (Gloo; NCCL with GPUs)"
    )
    up = sub.add_parser("up", help="start both nodes, phase by phase, until the server answers /health")
    _plan_arguments(up)
    up.add_argument("--url", metavar="URL", help="the head's server as reached from here (default: its host, --port)")
    up.add_argument("--join-timeout", type=float, default=60.0, metavar="S", help="for the worker to join Ray (60)")
    up.add_argument("--ready-timeout", type=float, default=900.0, metavar="S", help="for /health 200 (900)")
    up.add_argument("--keep", action="store_true", help="leave both nodes as they are when up fails (to look)")
    for name, said in (("status", "both nodes, Ray and the server, now"), ("down", "remove everything up started")):
        cmd = sub.add_parser(name, help=said)
        cmd.add_argument("--json", action="store_true", help="machine-readable output")


def _plan_arguments(plan: argparse.ArgumentParser) -> None:
    """What a plan is made of: preflight checks the same plan."""
    plan.add_argument("--hosts", metavar="FILE", help="the devices (default: [fleet] hosts in config.toml)")
    plan.add_argument("--head", required=True, metavar="DEVICE", help="the head node (a hosts-file name)")
    plan.add_argument("--worker", required=True, metavar="DEVICE", help="the worker node")
    plan.add_argument("--head-if", required=True, metavar="IF", help="the head's interface towards the worker")
    plan.add_argument("--worker-if", required=True, metavar="IF", help="the worker's interface towards the head")
    plan.add_argument("--head-ip", metavar="IP", help="(default: read from --head-if over SSH)")
    plan.add_argument("--worker-ip", metavar="IP", help="(default: read from --worker-if over SSH)")
    plan.add_argument("--preset", default="orin-gpt-oss-20b", help="a cluster preset (default orin-gpt-oss-20b)")
    plan.add_argument("--image", metavar="IMAGE", help="another image than the preset's (the same on both nodes)")
    plan.add_argument("--data", default="/data", metavar="DIR", help="mounted at /data on both (default /data)")
    plan.add_argument("--volume", action="append", default=[], metavar="SRC:DST", help="another mount on both")
    plan.add_argument("--no-memlock", action="store_true", help="no --ulimit memlock=-1 (rootless Docker)")
    plan.add_argument("--model", help="another model than the preset's (a name, or a path on the nodes)")
    plan.add_argument("--serve-args", metavar="ARGS", help="vllm serve's flags instead of the preset's (one string)")
    plan.add_argument("--mode", choices=("ray", "nnodes"), help="how the nodes join (default: the preset's)")
    plan.add_argument("--port", type=int, metavar="N", help="the server's port on the head (default 8000)")
    plan.add_argument("--json", action="store_true", help="machine-readable output")
