"""Chat against OpenAI-compatible servers: request, stream parsing, timing, storage, export."""
