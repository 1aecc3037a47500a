"""A tiny random-weight Llama model for a real vLLM CPU server (shared/reference/environment.md §3).

No model can be downloaded here, so the tests make one in seconds: a byte-level BPE
tokenizer (vocab ~512) trained on a few sentences, with a chat template, and a 2-layer
LlamaForCausalLM (hidden 256, 4 heads: head_dim 64, the least the CPU attention kernel
takes) saved as safetensors.  Its weights are random: it answers gibberish, often
invalid UTF-8 and control characters.

The build needs torch, tokenizers and transformers, which live in the vLLM venv, not in
jetconsole's: ``make_tiny_model`` runs this file as a script with that venv's python::

    /opt/jetconsole-vllm/bin/python tests/realparts/tiny_model.py DIR

This file must therefore import nothing from jetconsole or the tests at module level.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Jetson boards run large language models at the edge.",
    "vLLM serves an OpenAI compatible API with streaming responses.",
    "Hello! How are you today? I am fine, thank you.",
    "The console shows GPU memory, temperature, power and the server log.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000. Symbols: {}[]()<>=+-*/_|:;,'\"",
    "user assistant system: answer briefly and clearly.",
]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL = ["<unk>", "<s>", "</s>", "<pad>"]


#: (hidden, intermediate, layers, heads, kv heads) per size: "tiny" for the tests (a decode step of a
#: few ms), "bench" for benchmarks/bench_vs_vllm.py (~20M parameters: a step of ~10 ms or more, as on a
#: real device, so the server's API process keeps up with its engine on a 2-core machine)
SIZES = {"tiny": (256, 512, 2, 4, 2), "bench": (512, 1408, 6, 8, 2)}
#: the longest context per size (``max_position_embeddings``: vLLM serves no longer ``--max-model-len``): the
#: "bench" size also serves the cancel tests, which ask for answers of thousands of tokens (vllm_server.py,
#: SLOW_MAX_MODEL_LEN), so that no delay of the server's can let one run to its end before the cancel is seen
POSITIONS = {"tiny": 1024, "bench": 4096}


def build(out: Path, size: str = "tiny") -> Path:
    """Write the tokenizer and model into ``out`` (run inside the vLLM venv)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    positions = POSITIONS[size]
    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=SPECIAL,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    raw.train_from_iterator(SENTENCES * 4, trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        model_max_length=positions,
    )
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(out)

    torch.manual_seed(0)
    hidden, intermediate, layers, heads, kv_heads = SIZES[size]
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=positions,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
        torch_dtype="float32",
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)
    return out


def make_tiny_model(dir: Path, python: str | None = None, timeout: float = 300, size: str = "tiny") -> Path:
    """Build the tiny model (or another of ``SIZES``) into ``dir`` with the vLLM venv's python (a subprocess);
    returns ``dir``."""
    return run_builder(Path(__file__), Path(dir), [size], python, timeout, "tiny model")


def run_builder(script: Path, dir: Path, args: list[str], python: str | None, timeout: float, what: str) -> Path:
    """Run a model-building ``script`` (this file, tiny_vlm.py) as ``script DIR ARGS`` with the vLLM venv's
    python, offline, its caches beside ``dir``; returns ``dir`` once its safetensors are there."""
    if python is None:
        from tests.realparts.vllm_server import VLLM_PYTHON

        python = VLLM_PYTHON
    tmp = dir.parent / "tmp"  # torch makes torchinductor_<user> in TMPDIR: keep it out of /tmp
    tmp.mkdir(parents=True, exist_ok=True)
    env = {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(dir.parent / "home"),
        "TMPDIR": str(tmp),
    }
    proc = subprocess.run(
        [python, str(script.resolve()), str(dir), *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    if proc.returncode != 0 or not (dir / "model.safetensors").exists():
        raise RuntimeError(f"{what} build failed (rc {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return dir


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] not in SIZES):
        sys.exit(f"usage: tiny_model.py DIR [{'|'.join(SIZES)}]")
    print(build(Path(sys.argv[1]), *sys.argv[2:]))
