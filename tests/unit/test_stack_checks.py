"""The stack checks' parsing and judging on known inputs, and the disk check against a model's size.

The error strings are real: the GLIBCXX, undefined-symbol and ``torch._C`` ones were printed by
the dynamic loader and CPython here (tests/realparts/test_stack_probe.py produces them again for
real); ``2.8.0+cpu`` with CUDA unavailable is vLLM #28669 (domain.md §2), and the
``libcudart.so.N`` and GLIBC_ shapes follow domain.md's failure-signature table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.doctor import checks
from console.doctor.check import FAIL, OK, SKIP, WARN, Probe
from console.doctor.checks import check_disk
from console.doctor.model_size import GIB, ModelSize, estimate_from_config, hub_cache, measure
from console.doctor.stack import (
    MARKER,
    SystemStack,
    Target,
    cpython_tag,
    cuda_major,
    gcc_note,
    judge,
    missing_cudart,
    missing_versions,
    parse_output,
    undefined_symbol,
)

ROOT = Path(__file__).resolve().parents[2]
GLIBCXX_ERROR = (
    "ImportError: /lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found "
    "(required by /tmp/jcx/pkg/torch/_C.cpython-311-x86_64-linux-gnu.so)"
)
UNDEFINED_ERROR = (
    "ImportError: /tmp/jcx/abi2/torch/_C.cpython-311-x86_64-linux-gnu.so: undefined symbol: PyType_GetDict"
)
CXX_UNDEFINED = (
    "ImportError: /venv/lib/python3.10/site-packages/torchvision/_C.so: undefined symbol: "
    "_ZN3c1017RegisterOperatorsD1Ev"
)
CUDART_ERROR = "ImportError: libcudart.so.13: cannot open shared object file: No such file or directory"
GLIBC_ERROR = (
    "ImportError: /lib/aarch64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found "
    "(required by /venv/lib/python3.12/site-packages/torch/lib/libtorch_cpu.so)"
)

THOR = SystemStack(cuda="13.0.48", cuda_source="/usr/local/cuda/version.json", l4t="38.2.0", has_gpu=True)
ORIN = SystemStack(cuda="12.6.68", cuda_source="/usr/local/cuda/version.json", l4t="36.4.7", has_gpu=True)
X86_CUDA13 = SystemStack(cuda="13.0", cuda_source="the NVIDIA driver (NVML)", has_gpu=True)
NO_GPU = SystemStack()
VENV = Target("python", "/opt/venv/bin/python")
IMAGE = Target("image", "nvcr.io/nvidia/vllm:25.09-py3")
LIB_30 = {"path": "/usr/lib/aarch64-linux-gnu/libstdc++.so.6.0.30", "glibcxx_max": "3.4.30"}
LIB_33 = {"path": "/usr/lib/aarch64-linux-gnu/libstdc++.so.6.0.33", "glibcxx_max": "3.4.33"}


def probe_json(
    torch: dict | None = None,
    lib: dict | None = None,
    soabi: str = "cpython-312-aarch64-linux-gnu",
    python: str = "3.12.3",
) -> dict:
    return {
        "python": python,
        "soabi": soabi,
        "abiflags": "",
        "executable": "/opt/venv/bin/python",
        "torch": torch if torch is not None else {"found": False},
        "libstdcxx": lib or LIB_33,
    }


def torch_ok(version: str = "2.9.0", cuda: str | None = "13.0", available: bool = True, **kw) -> dict:
    return {
        "found": True,
        "location": "/opt/venv/lib/python3.12/site-packages/torch",
        "version": version,
        "cuda": cuda,
        "cuda_available": available,
        "ext_tags": ["cpython-312-aarch64-linux-gnu"],
        **kw,
    }


def by_id(found: list) -> dict:
    return {c.id: c for c in found}


# ---- parsing ------------------------------------------------------------------------------------


def test_parse_output_finds_the_marker_line_after_warnings() -> None:
    out = "UserWarning: something torch said\n" + MARKER + json.dumps({"python": "3.11.7"}) + "\n"
    assert parse_output(out) == {"python": "3.11.7"}
    assert parse_output("Traceback ...\nSyntaxError: invalid syntax\n") is None
    assert parse_output(MARKER + "{not json") is None


def test_missing_versions_from_the_loader_messages() -> None:
    assert missing_versions(GLIBCXX_ERROR) == [
        ("GLIBCXX", "3.4.32", "/tmp/jcx/pkg/torch/_C.cpython-311-x86_64-linux-gnu.so")
    ]
    assert missing_versions(GLIBC_ERROR)[0][:2] == ("GLIBC", "2.38")
    assert missing_versions("version `GLIBCXX_3.4.30' not found") == [("GLIBCXX", "3.4.30", "")]
    assert missing_versions(CUDART_ERROR) == []


def test_undefined_symbol_cudart_and_tags() -> None:
    assert undefined_symbol(UNDEFINED_ERROR) == (
        "PyType_GetDict",
        "/tmp/jcx/abi2/torch/_C.cpython-311-x86_64-linux-gnu.so",
    )
    assert undefined_symbol(CXX_UNDEFINED)[0] == "_ZN3c1017RegisterOperatorsD1Ev"
    assert undefined_symbol(GLIBCXX_ERROR) is None
    assert missing_cudart(CUDART_ERROR) == 13
    assert missing_cudart("libcublas.so.12: cannot open shared object file: No such file or directory") == 12
    assert missing_cudart("libcudnn.so.9: cannot open shared object file") is None  # cuDNN 9, not CUDA 9
    assert missing_cudart(GLIBCXX_ERROR) is None
    assert (cpython_tag("cpython-311-x86_64-linux-gnu"), cpython_tag("cpython-312"), cpython_tag("abi3")) == (
        "cp311",
        "cp312",
        None,
    )
    assert (cuda_major("13.0.48"), cuda_major("12.6"), cuda_major(None)) == (13, 12, None)
    assert (gcc_note("3.4.32"), gcc_note("3.4.30"), gcc_note("3.4.7")) == (" (GCC 13.2)", " (GCC 12.1)", "")


# ---- torch build and CUDA -----------------------------------------------------------------------


def test_cpu_only_torch_fails_on_a_gpu_machine_with_the_jetson_index() -> None:
    """vLLM #28669: a GB10/Thor user had torch 2.8.0+cpu and 'Is CUDA available: False'."""
    found = by_id(judge(VENV, probe_json(torch_ok("2.8.0+cpu", None, False)), THOR))
    build = found["torch-build"]
    assert build.status == FAIL
    assert "torch.version.cuda is None: a CPU-only build" in build.evidence
    assert "https://pypi.jetson-ai-lab.io/sbsa/cu130" in build.fix
    assert build.fix.startswith("/opt/venv/bin/python -m pip install")
    assert found["torch-cuda"].status == SKIP
    orin = by_id(judge(VENV, probe_json(torch_ok("2.8.0+cpu", None, False)), ORIN))["torch-build"]
    assert "jp6/cu126" in orin.fix
    x86 = by_id(judge(VENV, probe_json(torch_ok("2.8.0+cpu", None, False)), X86_CUDA13))["torch-build"]
    assert "download.pytorch.org/whl/cu130" in x86.fix


def test_cpu_only_torch_without_a_gpu_is_a_warning_and_plus_cpu_alone_counts() -> None:
    build = by_id(judge(VENV, probe_json(torch_ok("2.13.0+cpu", None, False)), NO_GPU))["torch-build"]
    assert build.status == WARN and any("no NVIDIA GPU on this machine" in e for e in build.evidence)
    # '+cpu' in the version is a CPU build even if a cuda string were reported
    assert by_id(judge(VENV, probe_json(torch_ok("2.5.0+cpu", "12.4")), THOR))["torch-build"].status == FAIL


def test_cpu_only_torch_in_an_image_points_at_an_image() -> None:
    build = by_id(judge(IMAGE, probe_json(torch_ok("2.8.0+cpu", None, False)), THOR))["torch-build"]
    assert build.status == FAIL and "nvcr.io/nvidia/vllm:25.09-py3" in build.fix and "--runtime nvidia" in build.fix


def test_torch_not_installed() -> None:
    found = by_id(judge(VENV, probe_json(), THOR))
    assert found["torch-build"].status == WARN
    assert "torch not installed: vLLM cannot run in this environment" in found["torch-build"].evidence
    assert found["torch-cuda"].status == SKIP and found["python-abi"].status == OK
    assert found["glibcxx"].status == OK


def test_cuda_major_mismatch_both_ways() -> None:
    cu126_on_thor = by_id(judge(VENV, probe_json(torch_ok("2.7.0", "12.6")), THOR))["torch-cuda"]
    assert cu126_on_thor.status == FAIL and any("sm_110" in e for e in cu126_on_thor.evidence)
    assert "system CUDA 13.0.48 (/usr/local/cuda/version.json)" in cu126_on_thor.evidence
    cu130_on_orin = by_id(judge(IMAGE, probe_json(torch_ok("2.9.0", "13.0")), ORIN))["torch-cuda"]
    assert cu130_on_orin.status == FAIL and "dustynv/vllm:r36.4.0" in cu130_on_orin.fix
    assert any("too old" in e for e in cu130_on_orin.evidence)
    cu128_on_x86 = by_id(judge(VENV, probe_json(torch_ok("2.8.0", "12.8")), X86_CUDA13))["torch-cuda"]
    assert cu128_on_x86.status == WARN and any("by compatibility" in e for e in cu128_on_x86.evidence)


def test_cuda_match_ok_and_gpu_not_visible_warns() -> None:
    good = by_id(judge(VENV, probe_json(torch_ok("2.9.0", "13.0")), THOR))
    assert good["torch-build"].status == OK and good["torch-cuda"].status == OK
    assert good["torch-build"].evidence[-1] == "built for CUDA 13.0"
    unseen = by_id(judge(IMAGE, probe_json(torch_ok("2.9.0", "13.0", available=False)), THOR))["torch-cuda"]
    assert unseen.status == WARN and "--runtime nvidia" in unseen.fix
    nogpu = by_id(
        judge(VENV, probe_json(torch_ok("2.9.0", "13.0", available=False)), SystemStack(cuda="13.0", cuda_source="x"))
    )["torch-cuda"]
    assert nogpu.status == OK and nogpu.evidence[-1].endswith("(no NVIDIA GPU here)")
    unknown = by_id(judge(VENV, probe_json(torch_ok("2.9.0", "13.0")), NO_GPU))["torch-cuda"]
    assert unknown.status == SKIP


def test_missing_cudart_is_a_cuda_mismatch() -> None:
    torch = {"found": True, "location": "/v/torch", "dist_version": "2.9.0+cu130", "error": CUDART_ERROR}
    found = by_id(judge(VENV, probe_json(torch), ORIN))
    assert found["torch-cuda"].status == FAIL
    assert "torch needs the CUDA 13 runtime, which is not present" in found["torch-cuda"].evidence
    assert found["torch-build"].status == FAIL and "torch 2.9.0+cu130" in found["torch-build"].evidence[1]


# ---- GLIBCXX ------------------------------------------------------------------------------------


def test_glibcxx_missing_names_both_versions_and_the_conda_fix() -> None:
    torch = {
        "found": True,
        "location": "/tmp/jcx/pkg/torch",
        "error": GLIBCXX_ERROR,
        "ext_tags": ["cpython-311-x86_64-linux-gnu"],
    }
    found = by_id(judge(VENV, probe_json(torch, LIB_30, "cpython-311-x86_64-linux-gnu", "3.11.7"), NO_GPU))
    c = found["glibcxx"]
    assert c.status == FAIL
    assert (
        "needs GLIBCXX_3.4.32 (GCC 13.2), required by /tmp/jcx/pkg/torch/_C.cpython-311-x86_64-linux-gnu.so"
        in c.evidence
    )
    assert (
        "libstdc++ /usr/lib/aarch64-linux-gnu/libstdc++.so.6.0.30 offers up to GLIBCXX_3.4.30 (GCC 12.1)" in c.evidence
    )
    assert "libstdcxx-ng>=13" in c.fix and "LD_LIBRARY_PATH" in c.fix and "24.04" in c.fix
    assert found["torch-build"].fix == "see the C++ runtime (GLIBCXX) check below"
    assert found["python-abi"].status == OK
    image = by_id(judge(IMAGE, probe_json(torch, LIB_30), THOR))["glibcxx"]
    assert image.status == FAIL and "use an image on Ubuntu 24.04 (JetPack 7)" in image.fix


def test_glibcxx_present_in_the_library_means_an_older_one_shadows_it() -> None:
    torch = {"found": True, "location": "/v/torch", "error": GLIBCXX_ERROR}
    c = by_id(judge(VENV, probe_json(torch, LIB_33), THOR))["glibcxx"]
    assert c.status == FAIL and any("another, older libstdc++ is loaded first" in e for e in c.evidence)
    assert "LD_DEBUG=libs /opt/venv/bin/python" in c.fix


def test_glibc_missing_needs_a_newer_os() -> None:
    torch = {"found": True, "location": "/v/torch", "error": GLIBC_ERROR}
    c = by_id(judge(IMAGE, probe_json(torch), THOR))["glibcxx"]
    assert c.status == FAIL and "needs GLIBC_2.38" in c.fix and "Ubuntu 24.04" in c.fix


def test_no_libstdcxx_found_skips() -> None:
    data = probe_json(lib={"path": None, "error": "OSError: libstdc++.so.6: cannot open shared object file"})
    assert by_id(judge(VENV, data, NO_GPU))["glibcxx"].status == SKIP


# ---- Python ABI ---------------------------------------------------------------------------------


def test_torch_for_another_python_is_named() -> None:
    torch = {
        "found": True,
        "location": "/tmp/jcx/abi/torch",
        "error": "ModuleNotFoundError: No module named 'torch._C'",
        "ext_tags": ["cpython-312-x86_64-linux-gnu"],
    }
    found = by_id(judge(VENV, probe_json(torch, LIB_30, "cpython-311-x86_64-linux-gnu", "3.11.7"), NO_GPU))
    c = found["python-abi"]
    assert c.status == FAIL
    assert "torch at /tmp/jcx/abi/torch holds extensions for cp312, this Python is cp311" in c.evidence
    assert "python3.12" in c.fix and "cp311 wheel" in c.fix
    assert found["torch-build"].fix == "see the Python ABI check below"


def test_undefined_python_symbol_and_undefined_cxx_symbol() -> None:
    torch = {
        "found": True,
        "location": "/tmp/jcx/abi2/torch",
        "error": UNDEFINED_ERROR,
        "ext_tags": ["cpython-311-x86_64-linux-gnu"],
    }
    c = by_id(judge(VENV, probe_json(torch, LIB_30, "cpython-311-x86_64-linux-gnu", "3.11.7"), NO_GPU))["python-abi"]
    assert c.status == FAIL and any(
        "calls the CPython API PyType_GetDict, which Python 3.11.7 lacks" in e for e in c.evidence
    )
    torch = {"found": True, "location": "/v/torch", "error": CXX_UNDEFINED, "ext_tags": []}
    c = by_id(judge(VENV, probe_json(torch), THOR))["python-abi"]
    assert c.status == FAIL and "torchvision" in c.fix and any("different torch" in e for e in c.evidence)


def test_matching_abi_and_abi3_are_ok() -> None:
    data = probe_json(torch_ok(ext_tags=["cpython-312-aarch64-linux-gnu", "abi3"]))
    c = by_id(judge(VENV, data, THOR))["python-abi"]
    assert c.status == OK and c.evidence[0] == "Python 3.12.3 (cpython-312-aarch64-linux-gnu)"


# ---- model size and disk ------------------------------------------------------------------------


def write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)


def hf_repo(cache: Path, repo: str, files: dict[str, int], extra: dict[str, str] | None = None) -> Path:
    """A HF cache entry laid out as huggingface_hub lays it out: blobs, snapshots of links, refs/main."""
    base = cache / ("models--" + repo.replace("/", "--"))
    snap = base / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text("abc123")
    for i, (name, size) in enumerate(files.items()):
        blob = base / "blobs" / f"blob{i}"
        write(blob, size)
        (snap / name).symlink_to(blob)
    for name, text in (extra or {}).items():
        (snap / name).write_text(text)
    return base


def test_measure_local_dir_sums_weight_files(tmp_path: Path) -> None:
    write(tmp_path / "m" / "model-00001-of-00002.safetensors", 3 * GIB)
    write(tmp_path / "m" / "model-00002-of-00002.safetensors", 2 * GIB)
    (tmp_path / "m" / "config.json").write_text("{}")
    size = measure(str(tmp_path / "m"), {})
    assert (size.total, size.present, size.remaining, size.local) == (5 * GIB, 5 * GIB, 0, True)
    assert size.line() == f"{tmp_path / 'm'}: 5.0 GiB of weights on disk (2 weight files)"


def test_measure_hf_cache_partial_download_uses_the_index(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    index = json.dumps({"metadata": {"total_size": 16 * GIB}, "weight_map": {}})
    hf_repo(
        cache, "Qwen/Qwen3-8B", {"model-00001-of-00004.safetensors": 4 * GIB}, {"model.safetensors.index.json": index}
    )
    size = measure("Qwen/Qwen3-8B", {"HF_HUB_CACHE": str(cache)})
    assert (size.total, size.present, size.remaining) == (16 * GIB, 4 * GIB, 12 * GIB)
    assert "12.0 GiB to download" in size.line()
    assert hub_cache({"HF_HOME": "/x"}) == Path("/x/hub")
    assert hub_cache({"HOME": "/home/u"}) == Path("/home/u/.cache/huggingface/hub")


def test_measure_from_config_and_unknown(tmp_path: Path) -> None:
    config = {
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "intermediate_size": 14336,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    }
    hf_repo(tmp_path / "hub", "meta-llama/Llama-3.1-8B", {}, {"config.json": json.dumps(config)})
    size = measure("meta-llama/Llama-3.1-8B", {"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert size.total is not None and 14.5 * GIB < size.total < 15.5 * GIB  # 8.0B parameters, 2 bytes each
    assert size.source.startswith("estimated from config.json: 8.0B parameters")
    assert estimate_from_config({**config, "quantization_config": {"quant_method": "fp8"}})[0] == size.total // 2
    fp32 = estimate_from_config({**config, "torch_dtype": "float32"})  # stored in 4 bytes, loaded in 2
    assert fp32[0] == size.total * 2 and fp32[1].endswith("× 4 bytes (fp32)")
    gone = measure("nobody/nothing", {"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert gone.total is None and "not in the Hugging Face cache" in gone.line()
    assert measure("not a repo", {}).total is None


def fixed_free(monkeypatch: pytest.MonkeyPatch, gib: float) -> None:
    monkeypatch.setattr(checks.shutil, "disk_usage", lambda _path: type("U", (), {"free": gib * GIB}))


def test_disk_counts_the_download_on_its_file_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = Probe(env={"HOME": str(tmp_path)}, docker_info={"DockerRootDir": str(tmp_path / "docker")})
    model = ModelSize(
        "Qwen/Qwen3-8B",
        16 * GIB,
        0,
        "model.safetensors.index.json total_size",
        where=tmp_path / ".cache" / "huggingface" / "hub",
    )
    fixed_free(monkeypatch, 20.0)
    c = check_disk(p, model)
    assert c.status == FAIL and "docker image prune" in c.fix
    assert c.evidence[0] == (
        "Qwen/Qwen3-8B: 16.0 GiB of weights (model.safetensors.index.json total_size), "
        "0.0 GiB cached, 16.0 GiB to download"
    )
    assert c.evidence[1].endswith(
        "20.0 GiB free (on the file system of " + str(tmp_path) + "); after the 16.0 GiB download 4.0 GiB would be left"
    )
    assert c.evidence[2].endswith("same file system as above")  # Docker's root: one file system, one verdict
    fixed_free(monkeypatch, 30.0)
    assert check_disk(p, model).status == WARN  # 14 GiB left: no room for a 20 GiB image
    fixed_free(monkeypatch, 60.0)
    assert check_disk(p, model).status == OK
    fixed_free(monkeypatch, 40.0)  # without a model: the fixed thresholds
    assert check_disk(p).status == WARN


def test_disk_looks_at_the_hub_cache_huggingface_hub_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixed_free(monkeypatch, 200.0)
    hub = tmp_path / "elsewhere" / "hub"
    c = check_disk(Probe(env={"HOME": str(tmp_path), "HF_HUB_CACHE": str(hub)}))
    assert c.evidence[0].startswith(f"Hugging Face cache {hub}: 200.0 GiB free")
    c = check_disk(Probe(env={"HOME": str(tmp_path)}))
    assert c.evidence[0].startswith(f"Hugging Face cache {tmp_path / '.cache' / 'huggingface' / 'hub'}: ")


def test_disk_with_a_cached_or_unknown_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = Probe(env={"HOME": str(tmp_path)})
    fixed_free(monkeypatch, 25.0)
    cached = ModelSize("org/m", 16 * GIB, 16 * GIB, "1 cached weight file", where=tmp_path)
    assert check_disk(p, cached).status == OK  # nothing to download; 25 GiB leaves room for an image
    unknown = ModelSize("org/x", None, 0, "not in the Hugging Face cache")
    c = check_disk(p, unknown)
    assert c.status == WARN and c.evidence[0] == "size of org/x unknown: not in the Hugging Face cache"
    assert "warn < 50 GiB" in c.title


# ---- the command --------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", "/dev/null", "doctor", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )


def test_doctor_python_flag_adds_the_target_checks_and_missing_interpreter_fails(tmp_path: Path) -> None:
    no_docker = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    done = run_cli("--json", "--python", str(tmp_path / "no-python"), env=no_docker)
    out = json.loads(done.stdout)
    ids = [c["id"] for c in out["checks"]]
    assert ids == ["docker", "daemon-json", "stack", "stack-probe", "tiktoken", "disk", "memory", "power"]
    probe = out["checks"][3]
    assert probe["status"] == "fail" and probe["evidence"] == [f"{tmp_path / 'no-python'}: no such interpreter"]
    assert done.returncode == 2
    text = run_cli("--python", str(tmp_path / "no-python"), "--model", str(tmp_path), env=no_docker).stdout
    assert f"✗ FAIL  Probe of python {tmp_path / 'no-python'}" in text
    assert f"size of {tmp_path} unknown: no weight files in {tmp_path}; no config.json" in text
