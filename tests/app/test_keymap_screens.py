"""A [keys] remap in config.toml reaches the dialogs too (their bindings were inline, unknown to config).

The app here does what JetconsoleApp does with the config's keys (``set_keymap(config.keys)``)
and nothing else, so the screens are tested without the rest of the console.
"""

from __future__ import annotations

import pytest
from textual.app import App

from console import config as cfg
from console.ui.screens.confirm import ConfirmScreen, StrictConfirmScreen, TextScreen
from tests.app.helpers import wait_for

KEYS = '[keys]\n"confirm.no" = "x"\n"confirm.yes" = "ctrl+y"\n"text.close" = "c"\n'


class KeysApp(App):
    def __init__(self, config: cfg.Config) -> None:
        super().__init__()
        self.set_keymap(config.keys)


@pytest.mark.parametrize("screen_class", [ConfirmScreen, StrictConfirmScreen])
async def test_confirm_no_remapped_in_config_answers_no_on_the_new_key(screen_class) -> None:
    app = KeysApp(cfg.parse(KEYS))  # the old config rejected these ids: "unknown binding id"
    answers: list[bool | None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = screen_class("Remove container", "docker rm web")
        app.push_screen(screen, answers.append)
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("n")  # remapped away: no longer an answer
        await pilot.press("enter")  # Enter says yes only on the plain question, and there it moved to ctrl+y
        await pilot.pause()
        assert answers == [] and app.screen is screen
        await pilot.press("x")
        await wait_for(pilot, lambda: answers == [False])
        assert app.screen is not screen


async def test_confirm_yes_remapped_and_the_strict_question_keeps_only_y() -> None:
    app = KeysApp(cfg.parse(KEYS))
    answers: list[bool | None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(ConfirmScreen("Stop", "docker stop web"), answers.append)
        await pilot.pause()
        await pilot.press("ctrl+y")
        await wait_for(pilot, lambda: answers == [True])
        strict = StrictConfirmScreen("Write daemon.json", "sudo tee /etc/docker/daemon.json")
        app.push_screen(strict, answers.append)
        await wait_for(pilot, lambda: app.screen is strict)
        await pilot.press("ctrl+y", "enter")  # confirm.yes is not the strict question's yes
        await pilot.pause()
        assert answers == [True] and app.screen is strict
        await pilot.press("y")
        await wait_for(pilot, lambda: answers == [True, True])


async def test_text_close_remapped() -> None:
    app = KeysApp(cfg.parse(KEYS))
    closed: list[None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = TextScreen("inspect web", "{}")
        app.push_screen(screen, closed.append)
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("q")
        await pilot.pause()
        assert closed == [] and app.screen is screen
        await pilot.press("c")
        await wait_for(pilot, lambda: closed == [None])
