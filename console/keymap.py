"""Every key binding, by id (pure data).  Users remap ids in config.toml ``[keys]``.

Every screen and widget takes its bindings from a table here through
``console.ui.bindings.bindings``: no ``Binding`` is written anywhere else, so each one has an
id that config.toml can remap and that ``?`` lists (tests/unit/test_bindings_by_id.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BindingSpec:
    id: str
    keys: str  # Textual key names, comma-separated
    action: str
    description: str
    show: bool = True

    @property
    def method(self) -> str:
        """The ``action_*`` method the binding calls (arguments dropped)."""
        return "action_" + self.action.split("(")[0]


# The screens a start can open (``--screen``): the command line and the app both take them from here.
START_SCREENS = ("dashboard", "chat", "containers", "telemetry", "doctor", "fit", "hud", "bench", "fleet", "cluster")

APP_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("app.quit", "q", "quit", "Quit"),
    BindingSpec("app.help", "question_mark,f1", "help", "Help"),
    BindingSpec("app.palette", "ctrl+p,colon", "command_palette", "Commands", show=False),  # Textual shows ^p
    BindingSpec("app.theme", "ctrl+t", "next_theme", "Next theme", show=False),
)
DASHBOARD_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("dashboard.telemetry", "t", "zoom_telemetry", "Telemetry"),
    BindingSpec("dashboard.zoom", "z,enter", "zoom", "Zoom panel"),
    BindingSpec("dashboard.pause", "p", "toggle_pause", "Pause"),
    BindingSpec("dashboard.containers", "c", "containers", "Containers"),
    BindingSpec("dashboard.chat", "a", "ask", "Ask (chat)"),
    BindingSpec("dashboard.doctor", "D", "doctor", "Doctor"),
    BindingSpec("dashboard.fit", "m", "fit", "Model fit"),
    BindingSpec("dashboard.hud", "H", "hud", "HUD"),
    BindingSpec("dashboard.bench", "B", "bench", "Bench", show=False),  # in ? and the palette: the footer is full
    BindingSpec("dashboard.fleet", "F", "fleet", "Fleet", show=False),
)
SERVERS_BINDINGS: tuple[BindingSpec, ...] = (  # the dashboard's servers panel, when it has focus
    BindingSpec("servers.next", "down,j", "move(1)", "Next server", show=False),
    BindingSpec("servers.prev", "up,k", "move(-1)", "Previous server", show=False),
)
HUD_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("hud.help_flag", "h", "toggle_help", "Help flag"),
    BindingSpec("hud.next", "space,n", "next_page", "Next page"),
    BindingSpec("hud.back", "escape", "back", "Dashboard"),
)
DOCTOR_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("doctor.back", "escape", "back", "Back"),
    BindingSpec("doctor.fix", "enter,f", "fix", "Apply fix"),
    BindingSpec("doctor.rerun", "r", "rerun", "Rerun checks"),
    BindingSpec("doctor.filter", "slash", "filter", "Filter"),
)
FIT_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("fit.back", "escape", "back", "Back"),
    BindingSpec("fit.copy_flags", "f2", "copy_flags", "Copy vLLM flags"),
    BindingSpec("fit.copy_command", "f3", "copy_command", "Copy fit command"),
)
BENCH_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("bench.back", "escape", "back", "Back/cancel"),
    BindingSpec("bench.run", "f5,r", "run", "Run"),
    BindingSpec("bench.form", "f2", "view('form')", "Form"),
    BindingSpec("bench.results", "f3", "view('results')", "Results"),
    BindingSpec("bench.saved", "f4", "view('saved')", "Saved runs"),
    BindingSpec("bench.baseline", "b", "next_baseline", "Next baseline"),
    BindingSpec("bench.metric", "m", "next_metric", "Chart metric"),
    BindingSpec("bench.mark", "space", "mark", "Select"),
    BindingSpec("bench.compare", "c", "compare", "Compare"),
    BindingSpec("bench.filter", "slash", "filter", "Filter"),
)
CHAT_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("chat.stop", "escape", "stop", "Stop/back"),
    BindingSpec("chat.new", "ctrl+n", "new_chat", "New chat"),
    BindingSpec("chat.history", "ctrl+o", "history", "Conversations"),
    BindingSpec("chat.model", "f2", "pick_model", "Model"),
    BindingSpec("chat.settings", "f3", "settings", "Settings"),
    BindingSpec("chat.reasoning", "f4", "toggle_reasoning", "Reasoning"),
    BindingSpec("chat.server", "f5", "pick_server", "Server"),
    BindingSpec("chat.zoom", "f6", "zoom_chat", "Full/back"),
    BindingSpec("chat.trim", "ctrl+r", "trim", "Trim oldest turns, retry"),
    BindingSpec("chat.newline", "shift+enter,ctrl+j", "newline", "New line", show=False),  # Enter sends
    BindingSpec("chat.attach", "f9,ctrl+g", "attach", "Attach image"),
    BindingSpec("chat.detach", "shift+f9", "detach", "Remove last image", show=False),
    BindingSpec("chat.shape", "f7", "shape", "Answer shape"),
    BindingSpec("chat.mode", "f8", "mode", "Chat/completion"),
    BindingSpec("chat.copy", "alt+c", "copy_answer", "Copy answer", show=False),
)
IMAGE_PICK_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("image_pick.cancel", "escape", "cancel", "Cancel"),
    BindingSpec("image_pick.complete", "tab", "complete", "Complete path"),
)
SHAPE_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("shape.cancel", "escape", "cancel", "Cancel"),
    BindingSpec("shape.save", "ctrl+s", "save", "Save"),
    BindingSpec("shape.clear", "ctrl+l", "clear", "Free text again"),
)
PICK_BINDINGS: tuple[BindingSpec, ...] = (BindingSpec("pick.cancel", "escape", "cancel", "Cancel"),)
ASK_BINDINGS: tuple[BindingSpec, ...] = (BindingSpec("ask.cancel", "escape", "cancel", "Cancel"),)
SETTINGS_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("settings.cancel", "escape", "cancel", "Cancel"),
    BindingSpec("settings.save", "ctrl+s", "save", "Save"),
)
HISTORY_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("history.back", "escape", "back", "Back"),
    BindingSpec("history.filter", "slash", "filter", "Search"),
    BindingSpec("history.open", "enter", "open", "Open"),
    BindingSpec("history.rename", "r", "rename", "Rename"),
    BindingSpec("history.delete", "d", "delete", "Delete"),
    BindingSpec("history.export_md", "e", "export('md')", "Export Markdown"),
    BindingSpec("history.export_json", "j", "export('json')", "Export JSON"),
)
DETAIL_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("detail.back", "escape", "back", "Back"),
    BindingSpec("detail.filter", "slash", "filter", "Filter processes"),
)
CONTAINERS_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("containers.back", "escape", "back", "Back"),
    BindingSpec("containers.filter", "slash", "filter", "Filter"),
    BindingSpec("containers.sort", "o", "sort", "Sort"),
    BindingSpec("containers.reverse", "O", "reverse_sort", "Reverse sort"),
    BindingSpec("containers.logs", "l,enter", "logs", "Logs"),
    BindingSpec("containers.inspect", "i", "inspect", "Inspect"),
    BindingSpec("containers.start", "u", "container('start')", "Start"),
    BindingSpec("containers.stop", "s", "container('stop')", "Stop"),
    BindingSpec("containers.restart", "r", "container('restart')", "Restart"),
    BindingSpec("containers.remove", "d", "container('remove')", "Remove"),
    BindingSpec("containers.launch", "n", "launch", "New launch"),
)
FLEET_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("fleet.back", "escape", "back", "Back"),
    BindingSpec("fleet.filter", "slash", "filter", "Filter"),
    BindingSpec("fleet.sort", "o", "sort", "Sort"),
    BindingSpec("fleet.reverse", "O", "reverse_sort", "Reverse sort"),
    BindingSpec("fleet.open", "enter", "open_device", "Device"),
    BindingSpec("fleet.view", "v", "next_view", "View"),
    BindingSpec("fleet.mark", "space", "mark", "Mark"),
    BindingSpec("fleet.mark_all", "M", "mark_all", "Mark all shown", show=False),
    BindingSpec("fleet.actions", "x", "actions", "Actions"),
    BindingSpec("fleet.cluster", "C", "cluster", "Cluster"),
)
CLUSTER_BINDINGS: tuple[BindingSpec, ...] = (  # two devices serving one model
    BindingSpec("cluster.back", "escape", "back", "Back"),
    BindingSpec("cluster.refresh", "r", "refresh", "Refresh"),
    BindingSpec("cluster.new", "n", "new_plan", "New plan"),
    BindingSpec("cluster.preflight", "p", "preflight(False)", "Preflight"),
    BindingSpec("cluster.link_test", "L", "preflight(True)", "Preflight + link test"),
    BindingSpec("cluster.up", "u", "up", "Up"),
    BindingSpec("cluster.down", "d", "down", "Down"),
)
CLUSTER_FORM_BINDINGS: tuple[BindingSpec, ...] = (  # the new plan's form
    BindingSpec("cluster_form.up", "ctrl+s", "submit", "Plan and up"),
    BindingSpec("cluster_form.cancel", "escape", "cancel", "Cancel"),
)
FLEET_ACTION_BINDINGS: tuple[BindingSpec, ...] = (  # an organiser action's plan, then its outcomes
    BindingSpec("fleet_action.run", "y", "run", "Run it"),
    BindingSpec("fleet_action.close", "escape,n", "close", "Cancel / close"),
)
FLEET_TILES_BINDINGS: tuple[BindingSpec, ...] = (  # the Fleet screen's tiles, when they have focus
    BindingSpec("fleet_tiles.up", "up,k", "move(0, -1)", "Tile above", show=False),
    BindingSpec("fleet_tiles.down", "down,j", "move(0, 1)", "Tile below", show=False),
    BindingSpec("fleet_tiles.left", "left,h", "move(-1, 0)", "Tile to the left", show=False),
    BindingSpec("fleet_tiles.right", "right,l", "move(1, 0)", "Tile to the right", show=False),
)
DEVICE_BINDINGS: tuple[BindingSpec, ...] = (  # one device of the fleet, read from its agent
    BindingSpec("device.back", "escape", "back", "Back"),
    BindingSpec("device.ssh", "s", "ssh", "Its own jetconsole (SSH)"),
)
LAUNCH_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("launch.back", "escape", "back", "Back"),
    # Keys no Input takes (an Input keeps ctrl+k, and letters, for its text): they work from every field
    BindingSpec("launch.preflight", "f5", "preflight", "Preflight"),
    BindingSpec("launch.launch", "ctrl+s", "launch", "Launch"),
    BindingSpec("launch.fix", "ctrl+f,f", "apply_fix", "Apply the fix and relaunch", show=False),
    BindingSpec("launch.reset", "f8", "reset", "Reset to the preset", show=False),  # edits are kept until then
)
LOGS_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("logs.back", "escape", "back", "Back"),
    BindingSpec("logs.follow", "space", "toggle_follow", "Follow/pause"),
    BindingSpec("logs.search", "slash", "search", "Search"),
    BindingSpec("logs.next", "n", "next_match", "Next match"),
    BindingSpec("logs.prev", "N", "prev_match", "Previous match"),
    BindingSpec("logs.next_error", "e", "next_error", "Next error"),
    BindingSpec("logs.prev_error", "E", "prev_error", "Previous error"),
    BindingSpec("logs.end", "G,end", "end", "End"),
    BindingSpec("logs.wrap", "w", "toggle_wrap", "Wrap"),
    BindingSpec("logs.timestamps", "t", "toggle_timestamps", "Timestamps"),
    BindingSpec("logs.tail", "T", "cycle_tail", "Tail size"),
    BindingSpec("logs.save", "ctrl+s", "save", "Save to file"),
)
CONFIRM_NO = BindingSpec("confirm.no", "n,escape", "answer(False)", "No")  # one id: both questions
CONFIRM_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("confirm.yes", "y", "answer(True)", "Yes"),  # never Enter: a question defaults to No (issue 15)
    CONFIRM_NO,
)
# Changes to the system: only y says yes (the Enter that opened the question must not also answer it)
STRICT_CONFIRM_BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("confirm.strict_yes", "y", "answer(True)", "Yes (system changes)"),
    CONFIRM_NO,
)
TEXT_BINDINGS: tuple[BindingSpec, ...] = (BindingSpec("text.close", "escape,q", "close", "Close"),)
HELP_BINDINGS: tuple[BindingSpec, ...] = (BindingSpec("help.close", "escape,q,question_mark", "close", "Close help"),)
# In the order ? lists them; a spec two screens share (confirm.no) once
ALL_BINDINGS: tuple[BindingSpec, ...] = tuple(
    dict.fromkeys(
        APP_BINDINGS
        + DASHBOARD_BINDINGS
        + SERVERS_BINDINGS
        + DETAIL_BINDINGS
        + CONTAINERS_BINDINGS
        + FLEET_BINDINGS
        + FLEET_TILES_BINDINGS
        + DEVICE_BINDINGS
        + FLEET_ACTION_BINDINGS
        + CLUSTER_BINDINGS
        + CLUSTER_FORM_BINDINGS
        + LAUNCH_BINDINGS
        + LOGS_BINDINGS
        + CHAT_BINDINGS
        + PICK_BINDINGS
        + IMAGE_PICK_BINDINGS
        + SHAPE_BINDINGS
        + ASK_BINDINGS
        + SETTINGS_BINDINGS
        + HISTORY_BINDINGS
        + DOCTOR_BINDINGS
        + FIT_BINDINGS
        + BENCH_BINDINGS
        + HUD_BINDINGS
        + CONFIRM_BINDINGS
        + STRICT_CONFIRM_BINDINGS
        + TEXT_BINDINGS
        + HELP_BINDINGS
    )
)
BINDING_IDS = frozenset(b.id for b in ALL_BINDINGS)
BY_ID: dict[str, BindingSpec] = {b.id: b for b in ALL_BINDINGS}

# ---- the screens' key groups (console/keys_check.py checks a user's [keys] against them) ---------
# The tables that are live together: a screen's own, the widgets it shows, and the app's.  Two ids of
# one group on one key is a conflict (one of them can never run), unless the defaults already share
# that key on purpose (help.close shadows app.quit's q on the help screen).
KEY_GROUPS: dict[str, tuple[tuple[BindingSpec, ...], ...]] = {
    "dashboard": (APP_BINDINGS, DASHBOARD_BINDINGS, SERVERS_BINDINGS, CHAT_BINDINGS),
    "telemetry": (APP_BINDINGS, DETAIL_BINDINGS),
    "containers": (APP_BINDINGS, CONTAINERS_BINDINGS),
    "fleet": (APP_BINDINGS, FLEET_BINDINGS, FLEET_TILES_BINDINGS),
    "device": (APP_BINDINGS, DEVICE_BINDINGS),
    "fleet_action": (APP_BINDINGS, FLEET_ACTION_BINDINGS),
    "cluster": (APP_BINDINGS, CLUSTER_BINDINGS),
    "cluster plan": (APP_BINDINGS, CLUSTER_FORM_BINDINGS),
    "launch": (APP_BINDINGS, LAUNCH_BINDINGS),
    "logs": (APP_BINDINGS, LOGS_BINDINGS),
    "chat": (APP_BINDINGS, CHAT_BINDINGS),
    "chat model/server list": (APP_BINDINGS, PICK_BINDINGS),
    "chat image picker": (APP_BINDINGS, IMAGE_PICK_BINDINGS),
    "chat answer shape": (APP_BINDINGS, SHAPE_BINDINGS),
    "chat question": (APP_BINDINGS, ASK_BINDINGS),
    "chat settings": (APP_BINDINGS, SETTINGS_BINDINGS),
    "conversations": (APP_BINDINGS, HISTORY_BINDINGS),
    "doctor": (APP_BINDINGS, DOCTOR_BINDINGS),
    "model fit": (APP_BINDINGS, FIT_BINDINGS),
    "bench": (APP_BINDINGS, BENCH_BINDINGS),
    "HUD": (APP_BINDINGS, HUD_BINDINGS),
    "confirmation": (APP_BINDINGS, CONFIRM_BINDINGS),
    "system-change confirmation": (APP_BINDINGS, STRICT_CONFIRM_BINDINGS),
    "text view": (APP_BINDINGS, TEXT_BINDINGS),
    "help": (APP_BINDINGS, HELP_BINDINGS),
}
