"""Images for vision-language models: read, checked, downscaled to a pixel budget, stored once, sent inline.

Blocking (Pillow, the disk): the chat service runs it in a thread.

- **Checked before decoding:** a file that is missing, not a file, over ``MAX_FILE_BYTES``, not an image
  Pillow knows, damaged, or over ``MAX_SOURCE_PIXELS`` (a decompression bomb, or a 10,000x10,000 scan) gets
  an ``ImageError`` saying what and what to do.
- **Downscaled on the client** to the server's pixel budget, the way the model's own processor would:
  Qwen2-VL and Qwen2.5-VL resize to sides that are multiples of 28 within ``min_pixels``..``max_pixels``
  and cost one token per 28x28 patch (plus the two vision markers); sending that size means the server
  resizes nothing and the estimate is the server's count. A JPEG is decoded at a reduced scale first
  (``draft``): a 4,000x3,000 photo is read at 1,000x750, not 12 Mpx.
- **Stored once:** the bytes sent go to ``<data dir>/images/<sha256>.jpg|png``; history, search and exports
  hold the ``ImageRef`` and never the base64.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from console.chat.model import ImageRef
from console.runtime.sanitise import clean

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_SOURCE_PIXELS = 64_000_000  # 8,000x8,000: above it Pillow's decode alone needs gigabytes
PATCH = 28  # Qwen2-VL: 14-pixel patches merged 2x2
QWEN_MIN_PIXELS = 4 * PATCH * PATCH
#: the client's budget when the server says none: ~768 tokens an image (chat-multimodal.md), well under the
#: 16,384 tokens vLLM profiles Qwen2.5-VL images with by default, which runs small devices out of memory
DEFAULT_MAX_PIXELS = 768 * PATCH * PATCH
MARKER_TOKENS = 2  # <|vision_start|> and <|vision_end|> around each image's pads
JPEG_QUALITY = 90
ORIENTATION = 0x0112  # the EXIF tag of how a camera held the picture
SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")


class ImageError(ValueError):
    """An image that cannot be attached: which file, what is wrong, what to do."""


@dataclass(frozen=True)
class Budget:
    """How large an image may go to the server: ``max_pixels`` (the server's when known), and whether the model
    resizes the Qwen2-VL way (sides in multiples of 28, a token per 28x28 patch)."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    min_pixels: int = QWEN_MIN_PIXELS
    qwen: bool = True
    source: str = "default"  # default | model (its preprocessor_config.json) | server (--mm-processor-kwargs)

    def line(self) -> str:
        where = {"server": "the server's --mm-processor-kwargs", "model": "the model's processor config"}.get(
            self.source, "jetconsole's default"
        )
        return f"≤ {self.max_pixels:,} pixels ({where})"


@dataclass(frozen=True)
class Prepared:
    """An image ready to send: its reference and the bytes stored under it."""

    ref: ImageRef
    data: bytes


def smart_resize(height: int, width: int, budget: Budget) -> tuple[int, int]:
    """(height, width) as Qwen2-VL's processor resizes: multiples of 28, the pixels within the budget."""
    factor = PATCH
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > budget.max_pixels:
        beta = math.sqrt(height * width / budget.max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < budget.min_pixels:
        beta = math.sqrt(budget.min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


def fit_size(height: int, width: int, budget: Budget) -> tuple[int, int]:
    """The size to send: Qwen's resize, or for another model the image shrunk (never grown) into the budget."""
    if budget.qwen:
        return smart_resize(height, width, budget)
    if height * width <= budget.max_pixels:
        return height, width
    scale = math.sqrt(budget.max_pixels / (height * width))
    return max(1, int(height * scale)), max(1, int(width * scale))


def estimate_tokens(height: int, width: int, budget: Budget) -> int | None:
    """The prompt tokens an image of this size (as sent) costs; None when the model's rule is unknown."""
    if not budget.qwen:
        return None
    h, w = smart_resize(height, width, budget)
    return (h // PATCH) * (w // PATCH) + MARKER_TOKENS


def check_file(path: Path) -> int:
    """The file's size, after the checks that need no decoding; ImageError otherwise."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise ImageError(f"{path}: no such file. Check the path (Tab completes it in the picker).") from exc
    except OSError as exc:
        raise ImageError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if not path.is_file():
        raise ImageError(f"{path}: not a file")
    if st.st_size == 0:
        raise ImageError(f"{path}: the file is empty")
    if st.st_size > MAX_FILE_BYTES:
        raise ImageError(
            f"{path}: {st.st_size / 1e6:.0f} MB is over the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit for an "
            "image: save it smaller (e.g. as a JPEG) and attach that"
        )
    return st.st_size


def prepare(path: str | Path, budget: Budget) -> Prepared:
    """Read ``path``, check it, downscale it to ``budget`` and encode it (JPEG, or PNG where it has
    transparency); ImageError says what is wrong. Nothing is written."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    file = Path(path).expanduser()
    check_file(file)
    try:
        with warnings.catch_warnings():  # Pillow's bomb warning: the pixel limit below says it, and refuses
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(file)
        with opened as img:
            try:
                orientation = img.getexif().get(ORIENTATION, 1)
            except Exception:  # noqa: BLE001 - a damaged EXIF block: the pixels as stored
                orientation = 1
            turned = orientation in (5, 6, 7, 8)  # a phone's portrait photo, stored sideways
            src_w, src_h = img.size[::-1] if turned else img.size
            if src_w * src_h > MAX_SOURCE_PIXELS:
                raise ImageError(
                    f"{file}: {src_w}x{src_h} is {src_w * src_h / 1e6:.0f} Mpx, over the "
                    f"{MAX_SOURCE_PIXELS // 1_000_000} Mpx an image may have here: downscale it first "
                    "(the model sees at most a few hundred thousand pixels of it anyway)"
                )
            out_h, out_w = fit_size(src_h, src_w, budget)
            if img.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale, still at least the size sent
                img.draft("RGB", (out_h, out_w) if turned else (out_w, out_h))
            alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
            upright = ImageOps.exif_transpose(img) if orientation in range(2, 9) else img  # a copy only if turned
            pixels = upright.convert("RGBA" if alpha else "RGB")
            if pixels.size != (out_w, out_h):
                pixels = pixels.resize((out_w, out_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
            buf = io.BytesIO()
            if alpha:
                pixels.save(buf, "PNG", optimize=False)
            else:
                pixels.save(buf, "JPEG", quality=JPEG_QUALITY)
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError(f"{file}: not an image this program can read (PNG, JPEG, WebP, GIF, BMP, TIFF)") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{file}: refused as a decompression bomb ({exc})") from exc
    except Exception as exc:
        raise ImageError(f"{file}: the image is damaged or cut short ({type(exc).__name__}: {exc})") from exc
    data = buf.getvalue()
    mime = "image/png" if alpha else "image/jpeg"
    ref = ImageRef(
        sha256=hashlib.sha256(data).hexdigest(),
        mime=mime,
        width=out_w,
        height=out_h,
        name=clean(file.name),  # a file name may hold control characters: it is shown
        source_width=src_w,
        source_height=src_h,
        tokens=estimate_tokens(out_h, out_w, budget),
        size=len(data),
    )
    return Prepared(ref, data)


def save(prepared: Prepared, folder: Path) -> Path:
    """Write the bytes once under their sha256 (an image already there is not written again; two writers of the
    same image each write a file of their own and the last rename wins, with the same bytes)."""
    import tempfile

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / prepared.ref.file_name
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(prepared.data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return target


def load(ref: ImageRef, folder: Path) -> bytes:
    """The stored bytes of ``ref``; ImageError when they are gone or not what was stored."""
    target = folder / ref.file_name
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise ImageError(f"the image {ref.name or ref.sha256[:12]} is no longer in {folder}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise ImageError(f"{target}: the file changed since it was stored")
    return data


def data_url(ref: ImageRef, data: bytes) -> str:
    return f"data:{ref.mime};base64,{base64.b64encode(data).decode('ascii')}"


def cost_line(refs: tuple[ImageRef, ...]) -> str:
    """``2 images · ~1,290 tokens`` (what is known) for the pane and the CLI."""
    if not refs:
        return ""
    known = [r.tokens for r in refs if r.tokens is not None]
    count = f"{len(refs)} image{'s' if len(refs) != 1 else ''}"
    if not known:
        return f"{count} · tokens unknown for this model"
    approx = "~" if len(known) == len(refs) else "≥ ~"
    return f"{count} · {approx}{sum(known):,} tokens"


def ref_line(ref: ImageRef, number: int) -> str:
    """``[Image #1] cat.jpg 4000x3000 → 1036x784 · ~1,038 tokens``."""
    size = f"{ref.width}x{ref.height}"
    if ref.source_width and (ref.source_width, ref.source_height) != (ref.width, ref.height):
        size = f"{ref.source_width}x{ref.source_height} → {size}"
    tokens = f" · ~{ref.tokens:,} tokens" if ref.tokens is not None else ""
    return f"[Image #{number}] {ref.name or ref.sha256[:12]} {size}{tokens}"


_NAMED = re.compile(r"(?<!\S)@(\S+?\.(?:png|jpe?g|webp|gif|bmp|tiff?))(?=\s|$|[,.;:!?)])", re.IGNORECASE)


def named_paths(text: str) -> list[str]:
    """Image paths a message names as ``@path`` (``look at @~/cat.jpg``), in order, each once."""
    out: list[str] = []
    for match in _NAMED.finditer(text):
        if match.group(1) not in out:
            out.append(match.group(1))
    return out
