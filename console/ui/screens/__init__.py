"""Screens: the dashboard, the telemetry detail, help."""
