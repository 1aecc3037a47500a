"""Doctor: checks with evidence and fixes (daemon.json, Docker, disk, tiktoken, the software stack)."""
