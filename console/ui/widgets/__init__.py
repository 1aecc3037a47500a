"""Widgets: render frozen snapshots handed to them; no I/O."""
