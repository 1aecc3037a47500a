"""Inference servers: startup tracking, failure diagnosis, memory fit (pure logic)."""
