"""Cluster presets: the two-node recipe of jetson-containers' distributed inference (2x AGX Orin 64 GB,
../shared/reference/cluster.md) and its published model lines, plus vLLM's Ray-free multi-node mode.

``mode`` says how the nodes are joined: ``ray`` (``ray start`` on both, then ``vllm serve ...
--distributed-executor-backend ray`` on the head: what GPU images use) or ``nnodes`` (``vllm serve ...
--nnodes 2 --node-rank N --master-addr HEAD``, ``--headless`` on the worker: no Ray).
"""

from __future__ import annotations

from dataclasses import dataclass

RAY, NNODES = "ray", "nnodes"
# The recipe's flags for every model line (max-model-len and batched tokens kept small for 64 GB Orins)
RECIPE_FLAGS = (
    "--max-model-len",
    "2048",
    "--max-num-batched-tokens",
    "2048",
    "--gpu-memory-utilization",
    "0.5",
    "--max-num-seqs",
    "10",
)


@dataclass(frozen=True)
class ClusterPreset:
    name: str
    description: str
    image: str
    model: str
    serve_flags: tuple[str, ...]
    mode: str = RAY
    port: int = 8000  # the OpenAI server's, on the head
    ray_port: int = 6379
    master_port: int = 29500  # nnodes mode: torch.distributed's rendezvous
    shm_size: str = "8g"
    published: str = ""  # the recipe's own figure over 10 GbE, for the plan to show
    weights_gib: float = 0.0  # the checkpoint's size (0: not known here): the preflight's memory check


BUILTIN: dict[str, ClusterPreset] = {
    p.name: p
    for p in (
        ClusterPreset(
            "orin-gpt-oss-20b",
            "2x AGX Orin 64 GB, Ray + TP=2 (jetson-containers' recipe)",
            "dustynv/vllm:r36.4.0",
            "openai/gpt-oss-20b",
            RECIPE_FLAGS,
            published="about 12 tok/s over 10 GbE",
            weights_gib=12.8,  # 13.8 GB of safetensors on the Hub (MXFP4 experts, BF16 attention)
        ),
        ClusterPreset(
            "orin-gpt-oss-120b",
            "2x AGX Orin 64 GB, Ray + TP=2, expert parallel",
            "dustynv/vllm:r36.4.0",
            "openai/gpt-oss-120b",
            (*RECIPE_FLAGS, "--kv-cache-memory-bytes", "3000M", "--enable-expert-parallel"),
            published="about 9 tok/s over 10 GbE",
            weights_gib=60.8,  # 65.3 GB on the Hub
        ),
        ClusterPreset(
            "orin-glm-4.5-air",
            "2x AGX Orin 64 GB, Ray + TP=2, GLM-4.5-Air AWQ",
            "dustynv/vllm:r36.4.0",
            "QuantTrio/GLM-4.5-Air-AWQ-FP16Mix",  # as jetson-containers' distributed docs name it
            (*RECIPE_FLAGS, "--kv-cache-memory-bytes", "3000M", "--enable-expert-parallel"),
            published="about 6 tok/s over 10 GbE",
        ),
        ClusterPreset(
            "nnodes",
            "any two nodes, vLLM's Ray-free multi-node mode (--nnodes 2, --headless worker)",
            "dustynv/vllm:r36.4.0",
            "openai/gpt-oss-20b",
            RECIPE_FLAGS,
            mode=NNODES,
        ),
    )
}
