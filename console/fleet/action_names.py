"""The organiser actions' names and what each does: constants only, so ``jetconsole --help`` can list them
without loading the planner (console/fleet/actions.py)."""

ACTIONS = ("flag-on", "flag-off", "doctor", "stop", "launch", "push", "collect-bench")
DESCRIPTIONS = {
    "flag-on": "raise the help flag",
    "flag-off": "lower the help flag",
    "doctor": "run the doctor (exit 0 good, 1 warnings, 2 failures)",
    "stop": "stop the inference servers' containers (vllm, sglang)",
    "launch": "launch a preset and follow it to Ready (the image fitted to each device's L4T)",
    "push": "copy a directory (the model cache, the compile cache) to each device with rsync, resumable",
    "collect-bench": "copy each device's bench results here, one directory per device",
}
