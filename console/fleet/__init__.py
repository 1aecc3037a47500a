"""The fleet: many devices' agents in one view.  ``hosts`` (the devices), ``schema`` (the agent's document),
``reading`` (one answer, checked).  No Textual, no network here."""
