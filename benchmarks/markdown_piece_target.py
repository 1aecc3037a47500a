"""Markdown piece size for the chat pane: render cost of a streamed answer for several split targets.

Feeds a 20,000-token answer (the same generator as ``chat_render_vs_elia.py``) in 100-token
batches through ``MarkdownSplitter(target=N)``, renders each finished piece once and the tail
after every batch (what the pane does), on a truecolor Rich console 100 columns wide::

    .venv/bin/python benchmarks/markdown_piece_target.py [--tokens 20000] [--targets 200,400,800,1500,3000]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat_render_vs_elia import markdown_tokens
from rich.console import Console

from console.chat.mdrender import piece_lines
from console.chat.mdsplit import MarkdownSplitter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100, help="tokens per batch (default 100)")
    parser.add_argument("--targets", default="200,400,800,1500,3000")
    args = parser.parse_args()
    tokens = markdown_tokens(args.tokens, "END", seed=1)
    console = Console(width=100, color_system="truecolor", file=io.StringIO(), force_terminal=True)
    print(f"{args.tokens:,} tokens, {len(''.join(tokens)):,} characters, {args.batch}-token batches")
    for target in (int(t) for t in args.targets.split(",")):
        splitter = MarkdownSplitter(target=target)
        pieces, tails, started = 0, 0.0, time.perf_counter()
        for i in range(0, len(tokens), args.batch):
            for piece in splitter.feed("".join(tokens[i : i + args.batch])):
                piece_lines(console, console.options, piece)
                pieces += 1
            t = time.perf_counter()
            piece_lines(console, console.options, splitter.tail)
            tails += time.perf_counter() - t
        for piece in splitter.finish():
            piece_lines(console, console.options, piece)
            pieces += 1
        total = time.perf_counter() - started
        print(
            f"target {target:5d}: {pieces:4d} pieces, {total:5.2f} s in all "
            f"({total / len(tokens) * 1e6:4.1f} us/token), of which tails {tails:5.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
