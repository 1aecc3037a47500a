"""``jetconsole fit``: will a model fit this device's memory, and with which vLLM flags?

The report is ``console.fit.report``; this prints it as a table or one JSON object.
Exit status: 0 fits, 1 does not fit, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from console.fit.model import FitError
from console.fit.report import as_text, report


def run(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None, meminfo: str | Path | None = None
) -> int:
    """``jetconsole fit``: 0 fits, 1 does not fit, 2 bad input (one line on stderr)."""
    try:
        r = report(args, meminfo)
    except FitError as exc:
        print(f"jetconsole fit: {exc}", file=err or sys.stderr)
        return 2
    print(json.dumps(r) if args.json else as_text(r), file=out or sys.stdout)
    return 0 if r["fits"] else 1
