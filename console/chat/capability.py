"""What a server can take: images (a vision-language model), ``tool_choice: auto``, its image budget (pure).

Told from what is known of it, the strongest first:
- its launch line (the container's command): ``--limit-mm-per-prompt`` with images allowed marks it a
  vision server (``{"image": 0}`` a text-only one), ``--mm-processor-kwargs``' ``max_pixels`` is its image
  budget, and ``--enable-auto-tool-choice`` with a ``--tool-call-parser`` lets it take ``tool_choice: auto``
  (vLLM answers 400 otherwise);
- the model's architecture (``config.json``'s ``architectures``, where the weights are a local folder);
- the model's name or repository (``Qwen/Qwen2.5-VL-3B-Instruct``, ``llava-…``, ``gemma-3-…``).
Nothing known says nothing: ``vision`` is None, and no warning is given.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from console.chat.images import DEFAULT_MAX_PIXELS, PATCH, QWEN_MIN_PIXELS, Budget
from console.runtime.sanitise import clean

VISION_ARCHITECTURES = frozenset(
    {
        "Qwen2VLForConditionalGeneration",
        "Qwen2_5_VLForConditionalGeneration",
        "Qwen3VLForConditionalGeneration",
        "Qwen3VLMoeForConditionalGeneration",
        "Qwen2_5OmniThinkerForConditionalGeneration",
        "PaddleOCRVLForConditionalGeneration",
        "LlavaForConditionalGeneration",
        "LlavaNextForConditionalGeneration",
        "LlavaOnevisionForConditionalGeneration",
        "Gemma3ForConditionalGeneration",
        "Gemma3nForConditionalGeneration",
        "MllamaForConditionalGeneration",
        "Llama4ForConditionalGeneration",
        "Idefics3ForConditionalGeneration",
        "SmolVLMForConditionalGeneration",
        "PixtralForConditionalGeneration",
        "Mistral3ForConditionalGeneration",
        "InternVLChatModel",
        "InternVLForConditionalGeneration",
        "MiniCPMV",
        "Phi3VForCausalLM",
        "Phi4MMForCausalLM",
        "PaliGemmaForConditionalGeneration",
        "KimiVLForConditionalGeneration",
        "Glm4vForConditionalGeneration",
        "Glm4vMoeForConditionalGeneration",
        "MolmoForCausalLM",
        "Ovis",
        "AyaVisionForConditionalGeneration",
    }
)
#: the models whose processor resizes the Qwen2-VL way (sides in multiples of 28, a token a 28x28 patch)
QWEN_ARCHITECTURES = frozenset(
    a for a in VISION_ARCHITECTURES if a.startswith(("Qwen", "PaddleOCRVL", "Glm4v", "KimiVL"))
)
_VISION_NAME = re.compile(
    r"(?i)(?:[-_/.]vl\b|\bvl[-_]|vision|llava|pixtral|gemma-?3|idefics|internvl|minicpm-?v|paligemma|smolvlm|"
    r"molmo|llama-?4|kimi-vl|glm-4(?:\.\d)?v|qwen\d?(?:\.\d)?-?vl|phi-?4-multimodal|aya-vision|ovis)"
)
_QWEN_NAME = re.compile(r"(?i)qwen\d?(?:\.\d)?-?vl|qwen\d?(?:\.\d)?-omni")


@dataclass(frozen=True)
class Capabilities:
    """``vision``: True, False (text only) or None (unknown), with the evidence; ``tools``: can take
    ``tool_choice: auto``; ``budget``: how large an image goes."""

    vision: bool | None = None
    vision_why: str = ""
    tools: bool = False
    tools_why: str = ""
    tool_parser: str = ""
    budget: Budget = field(default_factory=Budget)
    max_images: int | None = None  # --limit-mm-per-prompt's image count

    def vision_line(self) -> str:
        if self.vision is None:
            return "images unknown (neither its launch line nor its model says)"
        if not self.vision:
            return f"text only ({self.vision_why})"
        most = f", ≤ {self.max_images} an answer" if self.max_images else ""
        return f"sees images ({self.vision_why}{most})"

    def tools_line(self) -> str:
        if self.tools:
            return f"tool_choice auto ✓ ({self.tool_parser} parser)"
        return f"no tool_choice auto ({self.tools_why})"


def flags(command: str) -> dict[str, str]:
    """``--name value`` / ``--name=value`` pairs of a launch line (a flag alone maps to "")."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return flag_map(words)


def flag_map(words: Sequence[str]) -> dict[str, str]:
    """``flags`` of a command already split into words (a preset's serve flags)."""
    out: dict[str, str] = {}
    for i, word in enumerate(words):
        if not word.startswith("--"):
            continue
        name, eq, value = word.partition("=")
        if not eq:
            nxt = words[i + 1] if i + 1 < len(words) else ""
            value = "" if nxt.startswith("--") else nxt
        out[name] = value
    return out


def is_sglang(command: str) -> bool:
    """The launch line starts SGLang's server (``python3 -m sglang.launch_server``, ``sglang serve``)."""
    words = command.split()
    return "sglang.launch_server" in words or (bool(words) and words[0].rsplit("/", 1)[-1] == "sglang")


def _json_object(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError:
        # vLLM also takes the old "image=2,video=1" form of --limit-mm-per-prompt
        pairs = (p.split("=", 1) for p in text.split(",") if "=" in p)
        return {k.strip(): v.strip() for k, v in pairs}
    return value if isinstance(value, dict) else {}


def _count(value: object) -> int | None:
    """A count or a pixel number a flag or a config gives; None for anything else, or below 0."""
    if isinstance(value, dict):  # vLLM 0.11+: {"image": {"count": 2, "width": …}}
        value = value.get("count")
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if number >= 0 else None


@dataclass(frozen=True)
class ModelFiles:
    """What a local model folder says: ``config.json``'s architectures, ``preprocessor_config.json``'s pixels."""

    architectures: tuple[str, ...] = ()
    max_pixels: int | None = None
    min_pixels: int | None = None


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def model_files(root: str) -> ModelFiles:
    """The model folder ``root``'s configs, where it is a local path (blocking: a thread); empty else."""
    if not root or not root.startswith(("/", "~", ".")):
        return ModelFiles()
    folder = Path(root).expanduser()
    names = _read_json(folder / "config.json").get("architectures")
    arches = tuple(clean(a) for a in names if isinstance(a, str)) if isinstance(names, list) else ()  # shown
    pre = _read_json(folder / "preprocessor_config.json")
    size = pre["size"] if isinstance(pre.get("size"), dict) else {}
    assert isinstance(size, dict)
    most = _count(pre.get("max_pixels") or size.get("longest_edge"))  # Qwen2.5-VL's newer files: size.longest_edge
    least = _count(pre.get("min_pixels") or size.get("shortest_edge"))
    return ModelFiles(arches, most, least)


def capabilities(
    model: str = "", root: str = "", arches: tuple[str, ...] = (), command: str = "", files: ModelFiles | None = None
) -> Capabilities:
    """What a server serving ``model`` (from ``root``, of ``arches``, started with ``command``) can take.
    ``files``: its local model folder's configs (their architectures count as ``arches``; the processor's
    max_pixels caps the client's default budget)."""
    if files is not None and not arches:
        arches = files.architectures
    opts = flags(command) if command else {}
    vision: bool | None = None
    why = ""
    max_images = None
    qwen = any(a in QWEN_ARCHITECTURES for a in arches) or bool(_QWEN_NAME.search(f"{model} {root}"))
    if any(a in VISION_ARCHITECTURES for a in arches):
        vision, why = True, next(a for a in arches if a in VISION_ARCHITECTURES)
    elif arches:
        vision, why = False, f"{arches[0]} is not a vision architecture"
    elif _VISION_NAME.search(f"{model} {root}"):
        vision, why = True, "a vision model by its name"
    if "--limit-mm-per-prompt" in opts:
        limits = _json_object(opts["--limit-mm-per-prompt"])
        max_images = _count(limits.get("image")) if "image" in limits else None
        if max_images == 0:
            vision, why = False, "--limit-mm-per-prompt allows no image"
        elif max_images is not None:
            why = why if vision else "--limit-mm-per-prompt"  # the architecture's word, where it says vision
            vision = True
    budget = Budget(DEFAULT_MAX_PIXELS, QWEN_MIN_PIXELS, qwen)
    if files is not None and files.max_pixels and files.max_pixels < DEFAULT_MAX_PIXELS:
        budget = Budget(files.max_pixels, min(files.min_pixels or QWEN_MIN_PIXELS, files.max_pixels), qwen, "model")
    if "--mm-processor-kwargs" in opts:
        kwargs = _json_object(opts["--mm-processor-kwargs"])
        most, least = _count(kwargs.get("max_pixels")), _count(kwargs.get("min_pixels"))
        if most and most >= PATCH * PATCH:
            budget = Budget(most, least or min(QWEN_MIN_PIXELS, most), qwen, "server")
    parser = opts.get("--tool-call-parser", "")
    auto = "--enable-auto-tool-choice" in opts or is_sglang(command)  # SGLang takes auto with its parser alone
    if auto and parser:
        tools, tools_why = True, ""
    elif not command:
        tools, tools_why = False, "launch line unknown"
    elif auto:
        tools, tools_why = False, "no --tool-call-parser" if is_sglang(command) else "--enable-auto-tool-choice alone"
    else:
        tools, tools_why = False, "needs --enable-auto-tool-choice and --tool-call-parser"
    return Capabilities(vision, why, tools, tools_why, parser, budget, max_images)
