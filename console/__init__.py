"""jetconsole: one terminal console for serving LLMs on Jetson, DGX Spark and NVIDIA GPUs."""

__version__ = "0.1.0"
