"""``python -m console`` runs the same entry point as ``jetconsole``."""

from console.cli import main

raise SystemExit(main())
