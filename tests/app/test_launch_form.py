"""The launch form through Pilot (issue 15, items 5-10): keys that work from every field, a verdict always in
sight, stale results marked, the fields each kind uses, refusals that name the form's field."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList

from console.containers.launcher import LaunchEvent
from console.containers.preflight import Check
from console.runtime import commands as cmd
from console.runtime import events as ev
from console.servers.failures import Diagnosis, FixAction
from console.servers.startup import StartupState
from console.telemetry.model import SourceReport
from console.ui.app import JetconsoleApp
from console.ui.screens.launch import LaunchScreen
from tests.app.helpers import frozen_app, wait_for

SIZES = [(120, 40), (80, 24)]
NO_MEMORY = Diagnosis(
    "no-memory",
    "Not enough free memory",
    "vLLM asked for more memory than is free.",
    "Free memory on device (8.1/122.8 GiB) ...",
    "lower the GPU memory utilization",
    FixAction("relaunch", {"gpu_memory_utilization": 0.09}),
)
FAILED = (
    Check("image", "ok", "nvcr.io/nvidia/vllm:25.09-py3 present locally (12.0 GiB)"),
    Check("name", "ok", "vllm is free"),
    Check("port", "fail", "port 8000 is already in use on this host", "stop what listens there"),
    Check("runtime", "ok", "Docker has the nvidia runtime"),
    Check("mount", "ok", "/root/.cache/huggingface exists"),
    Check("mount", "ok", "/root/.cache/vllm exists"),
    Check("env", "warn", "$HF_TOKEN is not set in your environment", "export HF_TOKEN=..."),
    Check("memory fit", "warn", "openai/gpt-oss-120b is not in the local Hugging Face cache", "download it"),
)


def recording_app() -> tuple[JetconsoleApp, list[cmd.Launch]]:
    """The real app; the Launch commands its screen sends are kept here instead of starting containers."""
    app = frozen_app([], SourceReport())
    sent: list[cmd.Launch] = []
    send = app.send

    def record(command: cmd.Command) -> object:
        if isinstance(command, cmd.Launch):
            sent.append(command)
            return None
        return send(command)

    app.send = record  # type: ignore[method-assign]
    return app, sent


async def open_form(pilot, app: JetconsoleApp, preset: str = "vllm-thor") -> LaunchScreen:
    app.push_screen(LaunchScreen(preset))
    await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.is_mounted)
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, LaunchScreen)
    return screen


def field(screen: LaunchScreen, key: str) -> Input:
    return screen.query_one(f"#f-{key}", Input)


def text(screen: LaunchScreen, selector: str) -> str:
    return screen.query_one(selector).text  # type: ignore[attr-defined]


async def type_into(pilot, screen: LaunchScreen, key: str, value: str) -> None:
    """Focus a field, clear it and type ``value`` as a user would."""
    box = field(screen, key)
    box.focus()
    await pilot.pause()
    box.value = ""
    await pilot.press(*value) if value else None
    await pilot.pause()


# ---- item 5: keys that work from every field ---------------------------------------------------------------------


async def test_preflight_and_launch_keys_work_from_a_focused_field() -> None:
    app, sent = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        model = field(screen, "model")
        model.focus()
        model.cursor_position = 0
        await pilot.press("f5")  # ctrl+k here was the Input's "delete to end of line"
        await wait_for(pilot, lambda: len(sent) == 1)
        assert sent[0].launch is False and model.value == "openai/gpt-oss-120b"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(sent) == 2)
        assert sent[1].launch is True and model.value == "openai/gpt-oss-120b"
        assert "F5 preflight" in text(screen, "#title") and "ctrl+k" not in text(screen, "#title")


async def test_the_fix_key_works_from_a_focused_field() -> None:
    app, sent = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(sent) == 1)
        app.runtime.emit(ev.LaunchProgress(screen.run_id, None, "started vllm", container="c" * 64))
        app.runtime.emit(ev.LaunchProgress(screen.run_id, LaunchEvent("exited", StartupState(), NO_MEMORY, "exited")))
        await wait_for(pilot, lambda: screen.diagnosis is not None)
        assert "^f: relaunch with gpu_memory_utilization=0.09" in text(screen, "#diagnosis")
        field(screen, "port").focus()
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: len(sent) == 2)
        assert sent[1].launch is True and sent[1].remove_first == "c" * 64
        assert sent[1].preset.gpu_memory_utilization == 0.09 and field(screen, "port").value == "8000"


async def test_a_custom_preset_takes_the_fix_as_a_flag_not_a_dropped_field() -> None:
    app, sent = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app, "custom")
        await type_into(pilot, screen, "image", "local/vllm:1")
        await type_into(pilot, screen, "command", "vllm serve m/x")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(sent) == 1)
        app.runtime.emit(ev.LaunchProgress(screen.run_id, LaunchEvent("exited", StartupState(), NO_MEMORY, "exited")))
        await wait_for(pilot, lambda: screen.diagnosis is not None)
        assert "^f: relaunch with --gpu-memory-utilization 0.09 in Extra arguments" in text(screen, "#diagnosis")
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: len(sent) == 2)
        assert sent[1].plan.command == ["vllm", "serve", "m/x", "--gpu-memory-utilization", "0.09"]


# ---- item 6: the verdict in sight, the results scrolled to ---------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_verdict_is_always_visible_and_the_checks_are_scrolled_into_view(size: tuple[int, int]) -> None:
    app, sent = recording_app()
    width, height = size
    async with app.run_test(size=size) as pilot:
        screen = await open_form(pilot, app)
        verdict = screen.query_one("#verdict")
        assert 0 < verdict.region.bottom <= height - 1 and verdict.region.height == 1  # above the key hints
        assert "Not checked yet" in text(screen, "#verdict")
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(sent) == 1)
        app.runtime.emit(ev.PreflightDone(screen.run_id, FAILED, True, False))
        await wait_for(pilot, lambda: text(screen, "#verdict").startswith("✗ Preflight failed"))
        assert "port 8000 is already in use" in text(screen, "#verdict")
        output, checks = screen.query_one("#launch-output"), screen.query_one("#checks")
        await wait_for(pilot, lambda: output.region.y <= checks.region.y < output.region.bottom)
        assert 0 < verdict.region.bottom <= height - 1 and verdict.region.width == width


# ---- item 7: stale results -----------------------------------------------------------------------------------------


async def test_results_are_marked_stale_on_an_edit_and_cleared_on_another_preset() -> None:
    app, sent = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(sent) == 1)
        app.runtime.emit(ev.PreflightDone(screen.run_id, FAILED, True, False))
        await wait_for(pilot, lambda: "[FAIL] port" in text(screen, "#checks"))
        assert not text(screen, "#checks").startswith("Stale")
        await type_into(pilot, screen, "port", "8001")
        await wait_for(pilot, lambda: text(screen, "#checks").startswith("Stale"))
        assert text(screen, "#verdict").startswith("Stale")
        await type_into(pilot, screen, "port", "8000")  # back to what was checked: the results hold again
        await wait_for(pilot, lambda: text(screen, "#verdict").startswith("✗ Preflight failed"))
        assert text(screen, "#checks").startswith("[ok]")
        screen.query_one("#presets", OptionList).highlighted = list(screen.presets).index("vllm-orin")
        await wait_for(pilot, lambda: screen.preset_name == "vllm-orin")
        await wait_for(pilot, lambda: "[FAIL]" not in text(screen, "#checks"))
        assert "Preflight failed" not in text(screen, "#verdict")
        stale_run = screen.run_id - 1
        app.runtime.emit(ev.PreflightDone(stale_run, FAILED, True, False))  # the old preset's late answer
        await pilot.pause()
        assert "[FAIL]" not in text(screen, "#checks")


async def test_a_preflight_answered_after_an_edit_is_stale_at_once() -> None:
    app, sent = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(sent) == 1)
        await type_into(pilot, screen, "max_model_len", "8192")
        app.runtime.emit(ev.PreflightDone(screen.run_id, FAILED, True, False))
        await wait_for(pilot, lambda: "[FAIL] port" in text(screen, "#checks"))
        assert text(screen, "#checks").startswith("Stale") and text(screen, "#verdict").startswith("Stale")


# ---- item 8: the fields each kind uses -----------------------------------------------------------------------------


async def test_custom_shows_its_fields_and_refuses_a_model_it_would_drop() -> None:
    app, sent = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app, "custom")
        shown = {key for key in ("command", "runtime", "model", "port") if field(screen, key).display}
        hidden = {key for key in ("gpu_memory_utilization", "max_model_len", "dtype") if not field(screen, key).display}
        assert shown == {"command", "runtime", "model", "port"}
        assert hidden == {"gpu_memory_utilization", "max_model_len", "dtype"}
        await type_into(pilot, screen, "image", "local/server:1")
        await type_into(pilot, screen, "model", "Qwen/Qwen3-0.6B")
        await wait_for(pilot, lambda: "Model: would be dropped" in text(screen, "#preview"))
        assert "Cannot launch yet" in text(screen, "#verdict")
        await pilot.press("f5")
        await pilot.pause()
        assert sent == []  # nothing launched with the model silently left out
        await type_into(pilot, screen, "command", "serve {model} --port {port}")
        await type_into(pilot, screen, "port", "9001")
        await type_into(pilot, screen, "runtime", "")  # a box without the nvidia runtime
        await wait_for(pilot, lambda: "Equivalent command" in text(screen, "#preview"))
        preview = text(screen, "#preview")
        assert "serve Qwen/Qwen3-0.6B --port 9001" in preview and "--runtime" not in preview
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(sent) == 1)
        assert sent[0].plan.runtime is None and sent[0].plan.command == ["serve", "Qwen/Qwen3-0.6B", "--port", "9001"]


async def test_other_kinds_show_the_fields_they_use() -> None:
    app, _sent = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app, "vllm-thor")
        assert not field(screen, "command").display and field(screen, "gpu_memory_utilization").display
        assert field(screen, "runtime").value == "nvidia"
        screen.query_one("#presets", OptionList).highlighted = list(screen.presets).index("open-webui")
        await wait_for(pilot, lambda: screen.preset_name == "open-webui")
        await pilot.pause()
        assert not field(screen, "model").display and not field(screen, "gpu_memory_utilization").display
        assert field(screen, "port").display and "LLM server" in str(screen.query_one("#l-port").render())


# ---- item 9: refusals name the form's field ------------------------------------------------------------------------


async def test_a_bad_value_names_the_form_field_not_the_cli_flag() -> None:
    app, sent = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        await type_into(pilot, screen, "gpu_memory_utilization", "1.5")
        await wait_for(pilot, lambda: "Cannot launch yet" in text(screen, "#verdict"))
        for shown in (text(screen, "#verdict"), text(screen, "#preview")):
            assert "GPU memory utilization: must be above 0 and at most 1" in shown and "--set" not in shown
        await pilot.press("f5")
        await pilot.pause()
        assert sent == []
        await type_into(pilot, screen, "gpu_memory_utilization", "0.5")
        await type_into(pilot, screen, "env", "A='unclosed")
        await wait_for(pilot, lambda: "Environment: " in text(screen, "#verdict"))


async def test_edits_are_kept_across_esc_and_another_preset_until_reset() -> None:
    """Nothing lost: Esc or a look at another preset kept none of the form's edits; now F8 alone drops them."""
    app, _ = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        field(screen, "port").focus()
        field(screen, "port").value = "8123"
        await wait_for(pilot, lambda: app.launch_drafts.get("vllm-thor", {}).get("port") == "8123")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen))
        screen = await open_form(pilot, app)
        assert field(screen, "port").value == "8123"
        options = screen.query_one("#presets", OptionList)
        options.highlighted = list(screen.presets).index("vllm-orin")
        await wait_for(pilot, lambda: screen.preset_name == "vllm-orin")
        assert field(screen, "port").value == "8000"  # the other preset's own
        options.highlighted = list(screen.presets).index("vllm-thor")
        await wait_for(pilot, lambda: field(screen, "port").value == "8123")
        await pilot.press("f8")
        await wait_for(pilot, lambda: field(screen, "port").value == "8000")
        assert "vllm-thor" not in app.launch_drafts


async def test_a_credential_typed_for_one_launch_is_not_kept_for_the_next_visit() -> None:
    app, _ = recording_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        field(screen, "port").value = "8124"
        field(screen, "env").value = "HF_TOKEN=hf_abcdef1234567890"
        await wait_for(pilot, lambda: app.launch_drafts.get("vllm-thor", {}).get("port") == "8124")
        assert "env" not in app.launch_drafts["vllm-thor"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen))
        screen = await open_form(pilot, app)
        assert field(screen, "port").value == "8124" and "hf_abcdef" not in field(screen, "env").value
