"""The software stack of one Python environment or image: torch's build, its CUDA, libstdc++, the ABI.

A probe (``SNIPPET``) runs inside the target, ``PYTHON -c SNIPPET`` for an interpreter or
``docker run --rm --entrypoint python3 --network none IMAGE -c SNIPPET`` for an image, and
prints one JSON line: the Python version and SOABI, torch's version, ``torch.version.cuda``,
``torch.cuda.is_available()``, the text of the error when ``import torch`` fails, the
CPython tags of torch's compiled extensions, and the libstdc++ the target loads with the
highest ``GLIBCXX_`` version it offers (read from the library's bytes).

``judge`` turns that JSON and the machine's facts into doctor checks: a CPU-only torch, a CUDA
major that differs from the system's (12 vs 13), a missing ``GLIBCXX_``/``GLIBC_`` version, and
a torch built for another Python.  The judging is pure; ``probe_python``/``probe_image`` do
the I/O.  No Textual here.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from typing import Any

from console.doctor.check import FAIL, OK, SKIP, WARN, Check
from console.runtime.sanitise import clean, clean_tree

MARKER = "JETCONSOLE-STACK "
PROBE_TIMEOUT = 180.0  # importing a CUDA torch and initialising the GPU can take a minute on a Jetson

# Runs in the target's own Python (3.6 or newer): standard library only, one JSON line out.
SNIPPET = r"""
import json, os, re, sys, sysconfig
out = {"python": sys.version.split()[0], "soabi": sysconfig.get_config_var("SOABI") or "",
       "abiflags": getattr(sys, "abiflags", ""), "executable": sys.executable}
t = {"found": False}
try:
    import importlib.util
    spec = importlib.util.find_spec("torch")
except Exception as e:
    spec = None
    t["error"] = "%s: %s" % (type(e).__name__, e)
if spec is not None:
    t["found"] = True
    dirs = list(spec.submodule_search_locations or [])
    t["location"] = dirs[0] if dirs else spec.origin
    tags = set()
    for d in dirs:
        try:
            names = os.listdir(d)
        except OSError:
            names = []
        for name in names:
            m = re.search(r"\.(cpython-[0-9]+[a-z]*-[^.]+|abi3)\.so$", name)
            if m:
                tags.add(m.group(1))
    t["ext_tags"] = sorted(tags)
    try:
        from importlib import metadata
        t["dist_version"] = metadata.version("torch")
    except Exception:
        pass
    try:
        import torch
        t["version"] = str(torch.__version__)
        t["cuda"] = torch.version.cuda
        try:
            t["cuda_available"] = bool(torch.cuda.is_available())
        except Exception as e:
            t["cuda_available"] = False
            t["cuda_error"] = "%s: %s" % (type(e).__name__, e)
    except BaseException as e:
        t["error"] = "%s: %s" % (type(e).__name__, e)
out["torch"] = t


def mapped():
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and "/libstdc++.so" in parts[5]:
                    return parts[5].strip()
    except OSError:
        pass
    return None


lib = {"path": None}
path = mapped()
if path is None:
    try:
        import ctypes
        ctypes.CDLL("libstdc++.so.6")
        path = mapped()
    except Exception as e:
        lib["error"] = "%s: %s" % (type(e).__name__, e)
if path:
    lib["path"] = path
    try:
        with open(path, "rb") as f:
            found = set(re.findall(rb"GLIBCXX_([0-9]+(?:\.[0-9]+)+)", f.read()))
        best = max(found, key=lambda v: tuple(int(x) for x in v.split(b"."))) if found else None
        lib["glibcxx_max"] = best.decode() if best else None
    except OSError as e:
        lib["error"] = "%s: %s" % (type(e).__name__, e)
out["libstdcxx"] = lib
print("JETCONSOLE-STACK " + json.dumps(out), flush=True)
"""


class StackProbeError(Exception):
    """The probe did not run (no such interpreter, no python3 in the image, Docker down); ``hint`` says what to do."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(clean(reason))  # it quotes what the target printed
        self.hint = clean(hint)


@dataclass(frozen=True)
class Target:
    kind: str  # "python" | "image"
    name: str  # the interpreter path or the image reference

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class SystemStack:
    """What the machine offers: CUDA (toolkit or driver) and L4T, and whether an NVIDIA GPU is here."""

    cuda: str | None = None
    cuda_source: str = ""
    l4t: str | None = None
    has_gpu: bool = False

    @property
    def cuda_major(self) -> int | None:
        return cuda_major(self.cuda)

    @property
    def jetson(self) -> bool:
        return self.l4t is not None


# ---- parsing (pure) ---------------------------------------------------------------------------


def parse_output(stdout: str) -> dict[str, Any] | None:
    """The probe's JSON from everything the target printed (torch may print warnings first), every string in it
    cleaned: an image or an environment chooses what its Python, torch and error messages say."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                data = json.loads(line[len(MARKER) :])
            except ValueError:
                return None
            return clean_tree(data) if isinstance(data, dict) else None
    return None


def cuda_major(version: str | None) -> int | None:
    m = re.match(r"\s*(\d+)", str(version or ""))
    return int(m.group(1)) if m else None


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


_MISSING_VERSION = re.compile(r"version [`'\"]?(GLIBCX?X?)_([\d.]+)'? not found(?: \(required by ([^)]+)\))?")


def missing_versions(error: str) -> list[tuple[str, str, str]]:
    """``(library tag, version, required by)`` for every ``version `GLIBCXX_3.4.32' not found (required by …)``."""
    return [(m.group(1), m.group(2).rstrip("."), (m.group(3) or "").strip()) for m in _MISSING_VERSION.finditer(error)]


def undefined_symbol(error: str) -> tuple[str, str] | None:
    """``(symbol, file)`` from ``/path/_C.cpython-311-….so: undefined symbol: PyType_GetDict``."""
    m = re.search(r"(?:(\S+\.so[\w.]*): )?undefined symbol: (\S+)", error)
    return (m.group(2), m.group(1) or "") if m else None


def missing_cudart(error: str) -> int | None:
    """The CUDA major of ``libcudart.so.13: cannot open shared object file`` (cudart, cuBLAS and NVRTC carry
    the CUDA major in their soname; cuFFT, cuRAND, cuDNN have their own numbers)."""
    m = re.search(r"lib(?:cudart|cublas|cublasLt|nvrtc)\.so\.(\d+)[\d.]*: cannot open shared object file", error)
    return int(m.group(1)) if m else None


def cpython_tag(soabi_or_tag: str) -> str | None:
    """``cpython-311-x86_64-linux-gnu`` or ``cpython-312`` -> ``cp311``; ``abi3`` and others -> None."""
    m = re.match(r"cpython-(\d+)", soabi_or_tag or "")
    return f"cp{m.group(1)}" if m else None


def py_version_of(tag: str) -> str:
    """``cp312`` -> ``3.12``."""
    digits = tag.removeprefix("cp")
    return f"{digits[0]}.{digits[1:]}" if len(digits) > 1 else digits


# GCC release that introduced each GLIBCXX_ version (libstdc++ manual, "ABI Policy and Guidelines").
GCC_FOR_GLIBCXX = {
    "3.4.26": "9.1",
    "3.4.28": "10.1",
    "3.4.29": "11.1",
    "3.4.30": "12.1",
    "3.4.31": "13.1",
    "3.4.32": "13.2",
    "3.4.33": "14.1",
    "3.4.34": "15.1",
}
# libstdc++ of the Ubuntu releases JetPack is built on: JP6 = 22.04 (GCC 12), JP7 = 24.04 (GCC 14).
UBUNTU_FOR_GLIBCXX = {"3.4.30": "22.04 (JetPack 6)", "3.4.33": "24.04 (JetPack 7)"}


def gcc_note(version: str) -> str:
    gcc = GCC_FOR_GLIBCXX.get(version)
    return f" (GCC {gcc})" if gcc else ""


def torch_install_hint(system: SystemStack, target: Target) -> str:
    """Where a CUDA torch for this machine comes from."""
    major = system.cuda_major
    if target.kind == "image":
        if system.jetson and major == 13:
            return (
                "use an image with a CUDA-13 torch built for Jetson Thor, e.g. nvcr.io/nvidia/vllm:25.09-py3, "
                "and run it with --runtime nvidia"
            )
        if system.jetson:
            return (
                "use a Jetson image for this JetPack (Orin JP6: dustynv/vllm:r36.4.0) and run it with --runtime nvidia"
            )
        if major:
            return f"use an image whose torch is built for CUDA {major} (vllm/vllm-openai; -cu129 tags are CUDA 12)"
        return "use an image whose torch is a CUDA build for this machine's driver"
    pip = f"{target.name} -m pip install --force-reinstall torch"
    if system.jetson and major == 13:
        return f"{pip} --index-url https://pypi.jetson-ai-lab.io/sbsa/cu130 (Jetson AI Lab wheels: JetPack 7, CUDA 13)"
    if system.jetson and major == 12:
        return f"{pip} --index-url https://pypi.jetson-ai-lab.io/jp6/cu126 (Jetson AI Lab wheels: JetPack 6, CUDA 12.6)"
    if major == 13:
        return f"{pip} --index-url https://download.pytorch.org/whl/cu130"
    if major == 12:
        return f"{pip} --index-url https://download.pytorch.org/whl/cu126 (or cu128/cu129 for a newer CUDA 12 driver)"
    return (
        f"{pip} from an index for this machine's CUDA: download.pytorch.org/whl/cu1XX, or the Jetson AI Lab "
        "index (pypi.jetson-ai-lab.io) on a Jetson"
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else text.strip()


# ---- judging (pure) ---------------------------------------------------------------------------


def judge(target: Target, data: dict[str, Any], system: SystemStack) -> list[Check]:
    """The stack checks for one target from its probe JSON: torch build, torch CUDA, libstdc++, Python ABI."""
    torch = data.get("torch") or {}
    error = str(torch.get("error") or "")
    return [
        torch_build(target, data, system),
        torch_cuda(target, torch, system),
        glibcxx(target, data.get("libstdcxx") or {}, error),
        python_abi(target, data, error),
    ]


def torch_build(target: Target, data: dict[str, Any], system: SystemStack) -> Check:
    title = f"torch is a CUDA build ({target.label})"
    torch = data.get("torch") or {}
    fix = torch_install_hint(system, target)
    py = f"Python {data.get('python', '?')} at {data.get('executable', target.name)}"
    if not torch.get("found"):
        return Check("torch-build", title, WARN, (py, "torch not installed: vLLM cannot run in this environment"), fix)
    version = torch.get("version") or torch.get("dist_version")
    where = f"torch {version or '(version unknown)'} at {torch.get('location', '?')}"
    if torch.get("error"):
        return Check(
            "torch-build",
            title,
            FAIL,
            (py, where, f"import torch failed: {_last_line(torch['error'])}"),
            _explained(torch["error"], data) or fix,
        )
    version = str(version or "")
    if torch.get("cuda") is None or "+cpu" in version:
        seen = (
            py,
            where,
            f"torch.version.cuda is {torch.get('cuda')!r}: a CPU-only build",
            "vLLM on it finds no GPU ('Failed to infer device type')",
        )
        if system.has_gpu:
            return Check("torch-build", title, FAIL, seen, fix)
        return Check(
            "torch-build",
            title,
            WARN,
            (
                *seen,
                "no NVIDIA GPU on this machine, so nothing is lost here; "
                "on a GPU machine this environment would run on the CPU",
            ),
            fix,
        )
    return Check("torch-build", title, OK, (py, where, f"built for CUDA {torch['cuda']}"))


def _explained(error: str, data: dict[str, Any]) -> str:
    """Where the fix for an import error is, when a later check names its cause ("" otherwise)."""
    if missing_versions(error):
        return "see the C++ runtime (GLIBCXX) check below"
    if undefined_symbol(error) or _abi_mismatch(data):
        return "see the Python ABI check below"
    return ""


def torch_cuda(target: Target, torch: dict[str, Any], system: SystemStack) -> Check:
    title = f"torch's CUDA major matches the system ({target.label})"
    fix = torch_install_hint(system, target)
    sys_line = (
        f"system CUDA {system.cuda} ({system.cuda_source})"
        if system.cuda
        else "system CUDA unknown (none from jtop, no CUDA toolkit version file, no NVIDIA driver)"
    )
    error = str(torch.get("error") or "")
    wanted = missing_cudart(error)
    if wanted is not None:
        return Check(
            "torch-cuda",
            title,
            FAIL,
            (
                f"import torch: {_last_line(error)}",
                f"torch needs the CUDA {wanted} runtime, which is not present",
                sys_line,
            ),
            fix,
        )
    if not torch.get("found") or error:
        return Check(
            "torch-cuda",
            title,
            SKIP,
            ("no torch to compare" if not torch.get("found") else "torch does not import (see above)", sys_line),
        )
    built = torch.get("cuda")
    if built is None:
        return Check("torch-cuda", title, SKIP, ("CPU-only torch: no CUDA to compare", sys_line))
    tmajor, smajor = cuda_major(built), system.cuda_major
    seen = [f"torch {torch.get('version', '?')} built for CUDA {built}", sys_line]
    available = torch.get("cuda_available")
    if smajor is None:
        return Check(
            "torch-cuda",
            title,
            SKIP if not system.has_gpu else WARN,
            tuple(seen),
            "" if not system.has_gpu else "install the CUDA toolkit or driver to compare",
        )
    if tmajor is not None and tmajor > smajor:
        seen.append(
            f"a CUDA {tmajor} build on a CUDA {smajor} system: libcudart.so.{tmajor} missing or "
            "'The NVIDIA driver on your system is too old'"
        )
        return Check("torch-cuda", title, FAIL, tuple(seen), fix)
    if tmajor is not None and tmajor < smajor:
        if system.jetson:
            seen.append(
                f"a CUDA {tmajor} build on a CUDA {smajor} Jetson: no kernels for this GPU "
                "(Thor is sm_110 on CUDA 13; cu12x torch fails every op)"
            )
            return Check("torch-cuda", title, FAIL, tuple(seen), fix)
        seen.append(
            f"a CUDA {tmajor} build runs on a CUDA {smajor} driver by compatibility, but vLLM ≥0.20 "
            f"wheels and images are CUDA {smajor}"
        )
        return Check("torch-cuda", title, WARN, tuple(seen), fix)
    if available is False and system.has_gpu:
        seen.append(
            "torch.cuda.is_available() is False although an NVIDIA GPU is here"
            + (f": {torch['cuda_error']}" if torch.get("cuda_error") else "")
        )
        return Check(
            "torch-cuda",
            title,
            WARN,
            tuple(seen),
            "images: run with --runtime nvidia (doctor's daemon.json check); venvs: check the driver "
            "(nvidia-smi) and that the user may open /dev/nvidia*",
        )
    seen.append(
        "torch.cuda.is_available() is "
        + str(bool(available))
        + ("" if available or system.has_gpu else " (no NVIDIA GPU here)")
    )
    return Check("torch-cuda", title, OK, tuple(seen))


def glibcxx(target: Target, lib: dict[str, Any], error: str) -> Check:
    title = f"C++ runtime has the GLIBCXX versions torch needs ({target.label})"
    offers = lib.get("glibcxx_max")
    have = (
        f"libstdc++ {lib['path']} offers up to GLIBCXX_{offers}{gcc_note(offers)}"
        if lib.get("path") and offers
        else f"libstdc++ {lib['path']}: no GLIBCXX_ versions read"
        if lib.get("path")
        else f"no libstdc++.so.6 found ({lib.get('error') or 'not loadable'})"
    )
    missing = missing_versions(error)
    if not missing:
        return Check("glibcxx", title, OK if lib.get("path") else SKIP, (have,))
    seen = [f"import torch: {_last_line(error)}"]
    needs_cxx = [v for tag, v, _by in missing if tag == "GLIBCXX"]
    needs_c = [v for tag, v, _by in missing if tag == "GLIBC"]
    for tag, v, by in missing:
        seen.append(f"needs {tag}_{v}{gcc_note(v) if tag == 'GLIBCXX' else ''}" + (f", required by {by}" if by else ""))
    seen.append(have)
    if needs_c:
        newest = max(needs_c, key=version_key)
        fix = (
            f"this {'image' if target.kind == 'image' else 'system'}'s C library is older than the one the "
            f"binaries were built on (needs GLIBC_{newest}): use an image on the OS they were built for "
            "(JP7 = Ubuntu 24.04, JP6 = 22.04) or wheels built for this one"
        )
        return Check("glibcxx", title, FAIL, tuple(seen), fix)
    newest = max(needs_cxx, key=version_key)
    if offers and version_key(offers) >= version_key(newest):
        seen.append(
            f"{lib['path']} has GLIBCXX_{newest}, so another, older libstdc++ is loaded first "
            "(LD_LIBRARY_PATH, a conda env, or a library bundled with a package)"
        )
        python = target.name if target.kind == "python" else "python3"
        fix = (
            f"find the older libstdc++.so.6 the loader takes first (LD_DEBUG=libs {python} -c 'import torch') "
            "and remove it from LD_LIBRARY_PATH or the environment"
        )
        return Check("glibcxx", title, FAIL, tuple(seen), fix)
    ubuntu = next(
        (
            u
            for v, u in sorted(UBUNTU_FOR_GLIBCXX.items(), key=lambda kv: version_key(kv[0]))
            if version_key(v) >= version_key(newest)
        ),
        None,
    )
    if target.kind == "image":
        fix = (
            f"the image's OS is older than the one torch was built on: use an image on Ubuntu "
            f"{ubuntu or 'a newer release'}, or a torch built for this image's OS"
        )
    else:
        fix = (
            f"give this environment a libstdc++ with GLIBCXX_{newest}: conda install -c conda-forge "
            f"'libstdcxx-ng>={GCC_FOR_GLIBCXX.get(newest, '13').split('.')[0]}' and put $CONDA_PREFIX/lib first in "
            f"LD_LIBRARY_PATH; or run it in a container on Ubuntu {ubuntu or 'a newer release'}; or install a "
            "torch built for this OS"
        )
    return Check("glibcxx", title, FAIL, tuple(seen), fix)


def _abi_mismatch(data: dict[str, Any]) -> list[str]:
    """torch's extension tags that differ from this interpreter's (``cp312`` files in a ``cp311`` Python)."""
    own = cpython_tag(str(data.get("soabi") or ""))
    tags = {cpython_tag(t) for t in (data.get("torch") or {}).get("ext_tags") or []}
    return sorted(t for t in tags if t and own and t != own)


def python_abi(target: Target, data: dict[str, Any], error: str) -> Check:
    title = f"torch's compiled extensions match the Python ABI ({target.label})"
    soabi = str(data.get("soabi") or "?")
    own = cpython_tag(soabi)
    flags = f", abiflags {data['abiflags']}" if data.get("abiflags") else ""
    seen = [f"Python {data.get('python', '?')} ({soabi}{flags})"]
    torch = data.get("torch") or {}
    python = target.name if target.kind == "python" else "python3"
    other = _abi_mismatch(data)
    if other:
        seen.append(
            f"torch at {torch.get('location', '?')} holds extensions for {', '.join(other)}, this Python is {own}"
        )
        if error:
            seen.append(f"import torch: {_last_line(error)}")
        versions = " or ".join(f"python{py_version_of(t)}" for t in other)
        return Check(
            "python-abi",
            title,
            FAIL,
            tuple(seen),
            f"install torch with this interpreter ({python} -m pip install --force-reinstall torch) so pip "
            f"picks the {own} wheel, or run it with {versions}; never share site-packages between Pythons",
        )
    sym = undefined_symbol(error)
    if sym is not None:
        symbol, where = sym
        seen.append(f"import torch: {_last_line(error)}")
        if re.match(r"_?Py", symbol):
            seen.append(
                f"{where or 'an extension'} calls the CPython API {symbol}, which Python "
                f"{data.get('python', '?')} lacks: it was compiled for another Python version"
            )
            return Check(
                "python-abi",
                title,
                FAIL,
                tuple(seen),
                f"reinstall the package with this interpreter ({python} -m pip install --force-reinstall "
                "--no-cache-dir torch), or use the Python it was built for",
            )
        seen.append(
            f"{where or 'an extension'} needs {symbol}, which the library it links against lacks: it was built "
            "against a different torch (or C++ library) version"
        )
        return Check(
            "python-abi",
            title,
            FAIL,
            tuple(seen),
            f"install torch and its extensions (torchvision, torchaudio, vllm, flash-attn) as one matching "
            f"set from the same index: {python} -m pip install --force-reinstall torch torchvision ...",
        )
    if not torch.get("found"):
        return Check("python-abi", title, OK, (*seen, "no torch to check"))
    tags = torch.get("ext_tags") or []
    seen.append(f"torch extensions: {', '.join(tags) or 'none found'}")
    return Check("python-abi", title, OK, tuple(seen))


def probe_failed(target: Target, exc: StackProbeError) -> Check:
    return Check("stack-probe", f"Probe of {target.label}", FAIL, (str(exc),), exc.hint)


# ---- running the probe (I/O) ------------------------------------------------------------------


def probe_python(python: str, timeout: float = PROBE_TIMEOUT, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the snippet with ``python`` (an interpreter path, a venv's bin/python)."""
    try:
        done = subprocess.run([python, "-c", SNIPPET], capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError:
        raise StackProbeError(
            f"{python}: no such interpreter", "pass the path of a Python, e.g. /path/to/venv/bin/python"
        ) from None
    except PermissionError:
        raise StackProbeError(f"{python}: not executable", "pass the path of a Python interpreter") from None
    except OSError as exc:
        raise StackProbeError(f"{python}: cannot run it: {exc}", "pass the path of a Python interpreter") from None
    except subprocess.TimeoutExpired:
        raise StackProbeError(
            f"{python}: the probe did not finish in {timeout:.0f} s (import torch hung?)",
            f"run {python} -c 'import torch' by hand to see where it stops",
        ) from None
    data = parse_output(done.stdout)
    if data is None:
        raise StackProbeError(
            f"{python} exited with {done.returncode} without a result: "
            f"{_last_line(done.stderr or done.stdout) or 'no output'}",
            "is it a Python 3.6+ interpreter?",
        )
    return data


def probe_image(
    image: str, docker_host: str = "", timeout: float = PROBE_TIMEOUT, runtime: str | None = "auto"
) -> tuple[dict[str, Any], str]:
    """Run the snippet as ``docker run --rm --network none --entrypoint python3 IMAGE -c SNIPPET``.

    ``runtime="auto"`` uses the nvidia runtime when the daemon has one (without it, torch sees
    no GPU on a Jetson).  Returns the JSON and a line saying how the container ran.
    """
    from console.containers.docker_source import DockerSource, DockerUnavailable

    src = DockerSource(docker_host, timeout=int(max(timeout, 30)))
    try:
        src.open()
    except DockerUnavailable as exc:
        raise StackProbeError(f"Docker: {exc}", exc.hint) from None
    try:
        return _run_in_image(src, image, timeout, runtime)
    finally:
        src.close()


def _run_in_image(src: Any, image: str, timeout: float, runtime: str | None) -> tuple[dict[str, Any], str]:
    import docker.errors
    import requests.exceptions

    api = src.api
    if runtime == "auto":
        runtime = "nvidia" if "nvidia" in (api.info().get("Runtimes") or {}) else None
    try:
        api.inspect_image(image)
    except docker.errors.ImageNotFound:
        raise StackProbeError(f"image {image} is not on this machine", f"docker pull {image}") from None
    how = f"docker run --rm --network none --entrypoint python3{f' --runtime {runtime}' if runtime else ''} {image}"
    host_config = api.create_host_config(network_mode="none", runtime=runtime)
    try:
        created = api.create_container(
            image,
            command=["-c", SNIPPET],
            entrypoint=["python3"],
            host_config=host_config,
            labels={"jetconsole.doctor": "stack-probe"},
        )
    except docker.errors.APIError as exc:
        raise StackProbeError(f"{how}: {exc.explanation or exc}", "") from None
    cid = created["Id"]
    try:
        try:
            api.start(cid)
        except docker.errors.APIError as exc:
            text = str(exc.explanation or exc)
            if "executable file not found" in text or "no such file or directory" in text:
                raise StackProbeError(
                    f"image {image} has no python3 on its PATH ({_last_line(text)})",
                    "probe an image that ships Python (vLLM and PyTorch images do)",
                ) from None
            raise StackProbeError(f"{how}: {text}", "") from None
        try:
            status = api.wait(cid, timeout=timeout).get("StatusCode")
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            raise StackProbeError(f"{how}: no result in {timeout:.0f} s", "") from None
        stdout = api.logs(cid, stdout=True, stderr=False).decode(errors="replace")
        data = parse_output(stdout)
        if data is None:
            stderr = api.logs(cid, stdout=False, stderr=True).decode(errors="replace")
            raise StackProbeError(
                f"{how} exited with {status} without a result: {_last_line(stderr or stdout) or 'no output'}", ""
            )
        return data, how
    finally:
        try:
            api.remove_container(cid, force=True)
        except docker.errors.APIError:
            pass


def stack_checks(
    target: Target, system: SystemStack, docker_host: str = "", timeout: float = PROBE_TIMEOUT
) -> list[Check]:
    """Probe the target and judge it; a probe that cannot run is one failing check."""
    try:
        if target.kind == "image":
            data, how = probe_image(target.name, docker_host, timeout)
        else:
            data, how = probe_python(target.name, timeout), f"{target.name} -c <probe>"
    except StackProbeError as exc:
        return [probe_failed(target, exc)]
    checks = judge(target, data, system)
    first = checks[0]
    return [Check(first.id, first.title, first.status, (f"probed with {how}", *first.evidence), first.fix), *checks[1:]]
