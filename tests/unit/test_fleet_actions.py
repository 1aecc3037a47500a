"""Organiser actions planned (issue 16): the exact command each device runs, the image fitted to each
device's L4T as jetson-containers' autotag does, refusals with their reason, and how outcomes read."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.fleet.actions import ActionOptions, Outcome, autotag, l4t_of_release, plan_action
from console.fleet.command import select
from console.fleet.hosts import Device
from console.fleet.remote import _outcome, progress_of

DEVICES = (
    Device("orin-01", "http://10.0.0.1:9147", ssh="nvidia@10.0.0.1", group="rack-a", tags=("desk",)),
    Device("orin-02", "", ssh="nvidia@10.0.0.2", group="rack-b"),
    Device("spark", "http://10.0.0.3:9147"),  # no ssh=
)


def test_l4t_from_nv_tegra_release() -> None:
    assert l4t_of_release("# R36 (release), REVISION: 4.7, GCID: 4047, BOARD: generic, EABI: aarch64") == "36.4.7"
    assert l4t_of_release("# R38 (release), REVISION: 2.0, GCID: ...") == "38.2.0"
    assert l4t_of_release("") is None


@pytest.mark.parametrize(
    ("l4t", "image", "why"),
    [
        ("36.4.0", "dustynv/vllm:r36.4.0", "L4T 36.4.0: r36.4.0"),
        ("36.4.7", "dustynv/vllm:r36.4.0", "L4T 36.4.7: r36.4.0"),
        ("36.5.0", "dustynv/vllm:r36.4.0", "L4T 36.5.0: r36.4.0"),
        ("36.3.0", None, "no dustynv/vllm image for L4T 36.3.0"),
        ("35.4.1", None, "no dustynv/vllm image for L4T 35.4.1"),
        ("38.2.0", None, "no dustynv/vllm image for L4T 38.2.0"),
        (None, None, "its L4T is unknown"),
    ],
)
def test_autotag_fits_the_orin_image_to_the_l4t(l4t: str | None, image: str | None, why: str) -> None:
    got, said = autotag("dustynv/vllm:r36.4.0", l4t)
    assert got == image and said.startswith(why)


def test_other_images_are_used_as_they_are() -> None:
    assert autotag("nvcr.io/nvidia/vllm:25.09-py3", None)[0] == "nvcr.io/nvidia/vllm:25.09-py3"


def test_a_launch_plan_per_device() -> None:
    options = ActionOptions(preset="vllm-orin", settings=("model=Qwen/Qwen3-8B",), image="dustynv/vllm:r36.4.0")
    plan = plan_action("launch", DEVICES, options, {"orin-01": "36.4.7", "orin-02": "35.4.1"})
    (step,) = plan.steps
    assert step.device == "orin-01" and step.note == "L4T 36.4.7: r36.4.0"
    assert step.shown == "jetconsole launch vllm-orin --set model=Qwen/Qwen3-8B --timeout 1800"  # its tag fits
    assert dict(plan.refused) == {
        "orin-02": "no dustynv/vllm image for L4T 35.4.1 (known: r36.4.0); JetPack 6 (L4T 36.4+) is needed",
        "spark": "no ssh= in the hosts file: actions run over SSH",
    }


def test_push_and_collect_are_rsync_here_resumable() -> None:
    options = ActionOptions(source="/models/", dest="/data/{name}/models", ssh_config="/etc/fleet ssh")
    (a, b) = plan_action("push", DEVICES[:2], options).steps
    assert a.local and a.argv[0] == "rsync" and "--partial" in a.argv and "--append-verify" in a.argv
    assert "--protect-args" in a.argv and "--mkpath" in a.argv
    assert a.argv[-3:] == ("--", "/models/", "nvidia@10.0.0.1:/data/orin-01/models")  # no path read as an option
    assert b.argv[-1] == "nvidia@10.0.0.2:/data/orin-02/models"
    ssh = a.argv[a.argv.index("-e") + 1]
    assert ssh.startswith("ssh -F '/etc/fleet ssh' -o BatchMode=yes") and "ServerAliveInterval=15" in ssh
    collect = plan_action("collect-bench", DEVICES[:1], ActionOptions(source="~/here", dest="~/bench")).steps[0]
    home = str(Path("~").expanduser())
    assert collect.argv[-2:] == ("nvidia@10.0.0.1:bench/", f"{home}/here/orin-01/")  # no shell either end: no ~


def test_the_other_actions_and_unknown_ones() -> None:
    shown = {a: plan_action(a, DEVICES[:1], ActionOptions()).steps[0].shown for a in ("flag-on", "doctor", "stop")}
    assert shown == {
        "flag-on": "jetconsole help-flag on",
        "doctor": "jetconsole doctor",
        "stop": "docker ps -q --filter name=^vllm$ --filter name=^sglang$ | xargs -r docker stop",
    }
    with pytest.raises(ValueError, match="unknown action 'reboot'"):
        plan_action("reboot", DEVICES, ActionOptions())


def test_a_credential_is_never_sent_on_a_command_line() -> None:
    options = ActionOptions(preset="vllm-thor", settings=("env.HF_TOKEN=hf_abcdefghijklmnopqrstu",))
    with pytest.raises(ValueError, match="a credential is not sent on a command line"):
        plan_action("launch", DEVICES, options)
    shown = plan_action("launch", DEVICES[:1], ActionOptions(preset="p", settings=("api_key=abc123def456",)))
    assert "abc123def456" not in shown.steps[0].shown  # masked where it is shown and audited


def test_l4t_versions_of_two_parts() -> None:
    assert autotag("dustynv/vllm:r36.4.0", "36.4")[0] == "dustynv/vllm:r36.4.0"


def test_select() -> None:
    assert [d.name for d in select(DEVICES, "group:rack-b")] == ["orin-02"]
    assert [d.name for d in select(DEVICES, "tag:desk")] == ["orin-01"]
    assert [d.name for d in select(DEVICES, "spark,orin-01")] == ["orin-01", "spark"]
    assert [d.name for d in select(DEVICES, "flagged", {"spark"})] == ["spark"]
    with pytest.raises(ValueError, match="no device named nope"):
        select(DEVICES, "nope")
    with pytest.raises(ValueError, match="no device matches"):
        select(DEVICES, "group:rack-z")


def test_outcomes_read_in_a_users_words() -> None:
    step = plan_action("doctor", DEVICES[:1], ActionOptions()).steps[0]
    assert _outcome(step, 1, ["2 warnings"], 1.0) == Outcome("orin-01", True, "warnings", 1, 1.0, ("2 warnings",))
    flag = plan_action("flag-on", DEVICES[:1], ActionOptions()).steps[0]
    missing = _outcome(flag, 127, ["sh: 1: jetconsole: not found"], 0.1)
    assert not missing.ok and missing.summary.startswith("failed (exit 127): a command is not installed there")
    refused = _outcome(flag, 255, ["root@x: Permission denied (publickey)."], 0.1)
    assert refused.summary.startswith("SSH login refused")
    tail = ["preflight fail  runtime    Docker has no 'nvidia' runtime", "   → sudo nvidia-ctk runtime configure"]
    assert (
        _outcome(flag, 3, tail, 0.1).summary == "failed (exit 3): preflight fail runtime Docker has no 'nvidia' runtime"
    )
    assert progress_of("    524,288,000  45%   12.34MB/s    0:00:10 (xfr#3, to-chk=2/10)") == "45% 12.34MB/s"
    assert progress_of("loading weights \x1b[2J") == "loading weights ␛[2J"


def test_remote_paths_are_rsyncs_own() -> None:
    from console.fleet.actions import remote_path

    assert [remote_path(p) for p in ("~/models", "~", "/data/x", "models")] == ["models", ".", "/data/x", "models"]


def test_quitting_ends_a_running_action_and_its_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime stopping (the app quitting) cancels the action at once: its child is killed and reaped,
    the audit log says it was stopped, and the action is finished."""
    import json
    import threading

    from console.fleet.actions import Plan, Step
    from console.fleet.ssh import SshSettings
    from console.runtime import events as ev
    from console.runtime.runner import Runner
    from console.runtime.services import fleet_actions

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    pids = tmp_path / "pids"  # the step's shell and the child it waits for (rsync and its ssh, say)
    step = Step("orin-01", argv=("sh", "-c", f"echo $$ > {pids}; sleep 30 & echo $! >> {pids}; wait"))
    plan = Plan("push", (step,), ())
    emitted: list[object] = []

    class Hub:  # what the service uses of the runtime
        def emit(self, event: object) -> None:
            emitted.append(event)

    runner = Runner(lambda name, exc: None)
    started = threading.Event()
    life = runner.spawn(
        "fleet-action-1",
        lambda life: (started.set(), fleet_actions.run(Hub(), 1, plan, DEVICES[:1], SshSettings(), 0, 1, life)),
    )
    assert started.wait(5)
    assert runner.idle(0.5) is False  # it runs
    assert _wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    life.stop()
    assert runner.idle(5.0), "the action did not end when the runtime stopped"
    assert any(isinstance(e, ev.FleetActionFinished) for e in emitted)
    log = (tmp_path / "jetconsole" / "doctor-audit.log").read_text().splitlines()
    assert [json.loads(line)["then"] for line in log] == ["run", "stopped: the app quit while it ran"]
    for pid in map(int, pids.read_text().split()):  # the whole group is gone, not only the shell
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _wait_until(check, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_keep_alive_and_reset_are_ssh_failures() -> None:
    flag = plan_action("flag-on", DEVICES[:1], ActionOptions()).steps[0]
    for said in ("Timeout, server 10.0.0.1 not responding.", "Connection reset by peer"):
        assert not _outcome(flag, 255, [said], 0.1).summary.startswith("failed (exit 255)")
    assert _outcome(flag, 255, ["xargs: docker: exited with status 255"], 0.1).summary.startswith("failed (exit 255)")
