"""``jetconsole agent``: this device's state served read-only for a fleet view or a Prometheus.

``document`` (``/v1/state``) and ``exposition`` (``/metrics``) are pure views of the runtime's state;
``server`` serves them over HTTP with a shared cache and an optional bearer token; ``command`` is the CLI.
"""
