"""The headless runtime: services, events, one immutable state, commands. No Textual here."""
