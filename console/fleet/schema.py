"""The agent's ``/v1/state`` document: its name and version, shared by the agent that writes it and the
fleet view that reads it (README, "Agent")."""

SCHEMA = "jetconsole.agent.state"
VERSION = 1  # goes up when a field changes meaning; a reader refuses a newer one
