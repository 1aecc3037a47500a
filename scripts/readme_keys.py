"""Write README.md's "Every key" tables from console/keymap.py (``--check``: exit 1 if they differ).

.venv/bin/python scripts/readme_keys.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

from console.keymap_doc import replace_block

README = Path(__file__).resolve().parents[1] / "README.md"


def main() -> int:
    text = README.read_text()
    new = replace_block(text)
    if "--check" in sys.argv[1:]:
        if new != text:
            print("README.md's key tables differ from console/keymap.py: run scripts/readme_keys.py")
            return 1
        return 0
    if new != text:
        README.write_text(new)
        print("README.md: key tables rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
