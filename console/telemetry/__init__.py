"""Telemetry: sources (jtop, NVML, /proc), frozen snapshots, history. No Textual here."""
