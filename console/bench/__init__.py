"""Bench: a fixed prompt set against one or more served models, measured as ``vllm bench serve`` measures.

Pure parts (``stats``, ``prompts``, ``report``, ``chart``, ``energy``) do no I/O; ``client``
and ``runner`` talk HTTP; ``context`` reads the server, Docker and the device; ``powerab``
changes the power mode through jtop.  Nothing here imports Textual.
"""
