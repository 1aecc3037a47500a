"""A launch preset: how to run one server container (``Preset``), and the names and limits it uses.

Pure data: no Docker calls, no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("vllm", "sglang", "openwebui", "custom")
LABEL = "jetconsole.preset"
TIKTOKEN_TARGET = "/etc/encodings"  # where the NVIDIA Thor workshop puts the gpt-oss .tiktoken files
TIKTOKEN_ENV = "TIKTOKEN_ENCODINGS_BASE"
OPENWEBUI_UI_PORT = 8080  # Open WebUI's own port with --network=host
OPENWEBUI_URL_ENV = "OPENAI_API_BASE_URL"

# docker's --ulimit names (the same set the engine accepts).
ULIMIT_NAMES = frozenset(
    {
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    }
)


@dataclass(frozen=True)
class Preset:
    """How to launch one server container.  ``kind`` picks the command line it gets.

    * ``vllm``/``sglang``: the serve command is built from model, port and the typed
      flags, then ``extra_args``.
    * ``openwebui``: the image's own command; ``port`` is the port of the LLM server it
      talks to (``OPENAI_API_BASE_URL``); the UI itself listens on 8080.
    * ``custom``: ``command`` as given (``{model}`` and ``{port}`` are filled in), then
      ``extra_args``.

    ``env`` values of the form ``"$VAR"`` are read from the host environment at launch
    and never stored; ``secret_env`` names are passed through from the host when set.
    """

    name: str
    kind: str = "vllm"
    image: str = ""
    description: str = ""
    model: str = ""
    port: int = 8000
    served_model_name: str | None = None
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    dtype: str | None = None
    quantization: str | None = None
    speculative_config: str | None = None  # JSON text, passed to vLLM's --speculative-config
    enable_auto_tool_choice: bool = False  # vLLM's --enable-auto-tool-choice: tool_choice "auto" is accepted
    tool_call_parser: str | None = None  # --tool-call-parser (hermes, llama3_json, mistral, qwen3_coder, …)
    extra_args: tuple[str, ...] = ()
    command: tuple[str, ...] = ()  # kind "custom" only
    env: dict[str, str] = field(default_factory=dict)
    secret_env: tuple[str, ...] = ("HF_TOKEN",)
    volumes: tuple[str, ...] = ()  # "host:container[:ro]"; host may be "~/..." or a named volume
    tiktoken_dir: str | None = None  # host dir with o200k_base/cl100k_base .tiktoken files (gpt-oss)
    runtime: str | None = None
    network: str = "host"
    shm_size: str | None = None
    ulimits: dict[str, str] = field(default_factory=dict)  # name -> "soft:hard" or "limit"
    ipc: str | None = None
    container_name: str | None = None
    restart: str | None = None
