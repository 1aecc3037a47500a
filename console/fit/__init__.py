"""Will a model fit this device: sizing arithmetic (``sizing``), the model's inputs (``model``), the device's
memory (``device``) and ``jetconsole fit`` (``command``)."""
