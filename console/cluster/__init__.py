"""Two devices serving one model (issue 17): the plan (every node's exact lines), the preflight, and later
up, status and down.  No Textual, no network here; SSH and Docker come through the fleet's devices."""
