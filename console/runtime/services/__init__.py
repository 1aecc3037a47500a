"""The services the runtime runs: each a function that starts threads on the runner and emits events."""
