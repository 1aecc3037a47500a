"""The Textual UI: screens and widgets render snapshots; they never do I/O."""
