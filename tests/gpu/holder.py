"""Hold GPU memory until killed: the child process the NVML tests and benchmark watch.

    python tests/gpu/holder.py --gib 2 [--backend auto|torch|cuda] [--device 0]

Prints ``ready <backend> <bytes>`` on stdout once the memory is allocated, then sleeps.
Prints ``unavailable: <why>`` and exits 3 where the backend cannot run here.

Backends: ``torch`` (``torch.empty`` on the GPU, i.e. cudaMalloc through PyTorch's
allocator) or ``cuda`` (ctypes against the driver's libcuda.so.1: primary context and
cuMemAlloc_v2, no toolkit needed).  ``auto`` takes torch where it imports.  Both are
plain device allocations, never managed memory.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import select
import subprocess
import sys
import time
from typing import Any

GIB = 1 << 30
UNAVAILABLE = 3


class Unavailable(Exception):
    pass


def hold_torch(nbytes: int, device: int) -> Any:
    try:
        import torch
    except ImportError as exc:
        raise Unavailable(f"torch not importable: {exc}") from exc
    if not torch.cuda.is_available():
        raise Unavailable("torch sees no CUDA device")
    block = torch.empty(nbytes, dtype=torch.uint8, device=f"cuda:{device}")
    torch.cuda.synchronize(device)
    return block


def hold_cuda(nbytes: int, device: int) -> Any:
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        raise Unavailable(f"libcuda.so.1 not loadable: {exc}") from exc

    def check(what: str, rc: int) -> None:
        if rc != 0:
            raise RuntimeError(f"{what} failed with CUresult {rc}")

    dev = ctypes.c_int()
    ctx = ctypes.c_void_p()
    ptr = ctypes.c_uint64()
    check("cuInit", cuda.cuInit(0))
    check("cuDeviceGet", cuda.cuDeviceGet(ctypes.byref(dev), device))
    check("cuDevicePrimaryCtxRetain", cuda.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev))
    check("cuCtxSetCurrent", cuda.cuCtxSetCurrent(ctx))
    check("cuMemAlloc_v2", cuda.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(nbytes)))
    return (cuda, ctx, ptr)  # kept alive until the process dies


def hold(backend: str, nbytes: int, device: int) -> tuple[str, Any]:
    if backend in ("auto", "torch"):
        try:
            return "torch", hold_torch(nbytes, device)
        except Unavailable:
            if backend == "torch":
                raise
    return "cuda", hold_cuda(nbytes, device)


def start_holder(
    gib: float = 2.0, backend: str = "auto", device: int = 0, timeout: float = 120.0
) -> tuple[subprocess.Popen[str], str]:
    """Run this file as a child; return it and its backend once its memory is allocated.

    Raises ``Unavailable`` where the backend cannot run, RuntimeError where the child
    dies or stays silent.  The caller kills the child.
    """
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--gib", str(gib), "--backend", backend, "--device", str(device)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout
    assert child.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([child.stdout], [], [], 0.5)
        if ready:
            line = child.stdout.readline().strip()
            if line.startswith("ready "):
                return child, line.split()[1]
            if line.startswith("unavailable:"):
                child.wait(timeout=10)
                raise Unavailable(line.removeprefix("unavailable:").strip())
        if child.poll() is not None:
            err = child.stderr.read() if child.stderr else ""
            raise RuntimeError(f"holder exited with {child.returncode} before it was ready: {err.strip()[-2000:]}")
    child.kill()
    child.wait()
    raise RuntimeError(f"holder not ready after {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0, help="GiB to allocate (default 2)")
    parser.add_argument("--backend", choices=("auto", "torch", "cuda"), default="auto")
    parser.add_argument("--device", type=int, default=0, help="CUDA device ordinal")
    args = parser.parse_args(argv)
    nbytes = int(args.gib * GIB)
    try:
        used, _keep = hold(args.backend, nbytes, args.device)
    except Unavailable as exc:
        print(f"unavailable: {exc}", flush=True)
        return UNAVAILABLE
    print(f"ready {used} {nbytes}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
