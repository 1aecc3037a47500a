"""The built-in launch presets: vLLM on Thor and on Orin, SGLang, Open WebUI, a custom container."""

from __future__ import annotations

from console.containers.presets.model import Preset

_HF_CACHE = "~/.cache/huggingface:/root/.cache/huggingface"
_VLLM_CACHE = "~/.cache/vllm:/root/.cache/vllm"  # torch.compile cache: later starts skip the ~45 s compile
_WORKSHOP_ULIMITS = {"memlock": "-1", "stack": "67108864"}

BUILTIN_PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        # NVIDIA GTC DC 2025 Thor workshop (tokk-nv/jetson-generative-ai-playground
        # docs/workshop_gtcdc2025.md): --network host --shm-size=16g --ulimit memlock=-1
        # --ulimit stack=67108864 --runtime=nvidia --name=vllm, HF cache and vLLM cache mounts,
        # `vllm serve openai/gpt-oss-120b`.  0.7 is the utilisation in the workshop's own
        # "Free memory on device" example; it leaves the OS headroom on 128 GB unified memory.
        Preset(
            name="vllm-thor",
            kind="vllm",
            image="nvcr.io/nvidia/vllm:25.09-py3",
            description="vLLM on Jetson AGX Thor (JetPack 7), NVIDIA Thor workshop flags",
            model="openai/gpt-oss-120b",
            port=8000,
            gpu_memory_utilization=0.7,
            volumes=(_HF_CACHE, _VLLM_CACHE),
            runtime="nvidia",
            network="host",
            shm_size="16g",
            ulimits=dict(_WORKSHOP_ULIMITS),
            container_name="vllm",
        ),
        # jetson-containers image for JetPack 6 (L4T r36.4).  8g is jetson-containers'
        # own --shm-size.  HF_HOME is pinned so the mounted cache is the one used whatever
        # the image sets.  No default model: Orin boards range from 8 GB to 64 GB.
        Preset(
            name="vllm-orin",
            kind="vllm",
            image="dustynv/vllm:r36.4.0",
            description="vLLM on Jetson Orin (JetPack 6, jetson-containers image)",
            port=8000,
            gpu_memory_utilization=0.6,
            env={"HF_HOME": "/root/.cache/huggingface"},
            volumes=(_HF_CACHE, _VLLM_CACHE),
            runtime="nvidia",
            network="host",
            shm_size="8g",
            ulimits=dict(_WORKSHOP_ULIMITS),
            container_name="vllm",
        ),
        # No SGLang image for Jetson is documented in the references; this tag follows the
        # jetson-containers convention (dustynv/<package>:r<L4T>) used by dustynv/vllm:r36.4.0.
        # 30000 is SGLang's default port.
        Preset(
            name="sglang-orin",
            kind="sglang",
            image="dustynv/sglang:r36.4.0",
            description="SGLang on Jetson Orin (JetPack 6, jetson-containers naming)",
            port=30000,
            gpu_memory_utilization=0.6,
            env={"HF_HOME": "/root/.cache/huggingface"},
            volumes=(_HF_CACHE,),
            runtime="nvidia",
            network="host",
            shm_size="8g",
            ulimits=dict(_WORKSHOP_ULIMITS),
            container_name="sglang",
        ),
        # The documented command: docker run -d --network=host -v open-webui:/app/backend/data
        # -e OPENAI_API_BASE_URL=http://0.0.0.0:8000/v1 --name open-webui --restart always
        # ghcr.io/open-webui/open-webui:main.  `port` is the LLM server's port (UI on :8080).
        Preset(
            name="open-webui",
            kind="openwebui",
            image="ghcr.io/open-webui/open-webui:main",
            description="Open WebUI chat front-end for the local server (UI on :8080)",
            port=8000,
            secret_env=(),
            volumes=("open-webui:/app/backend/data",),
            network="host",
            container_name="open-webui",
            restart="always",
        ),
        Preset(
            name="custom",
            kind="custom",
            description="Any image and command (set image and command; {model} and {port} are filled in)",
            runtime="nvidia",
            network="host",
        ),
    )
}
