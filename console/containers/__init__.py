"""Containers: Docker access, launch presets, logs."""
