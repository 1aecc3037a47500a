"""Shared helpers of the pty benchmarks: a VT screen model, /proc readers, a program in a pty.

``startup_idle.py`` and ``containers_vs_lazydocker.py`` import these; nothing here starts anything
on import.
"""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
COLS, ROWS = 120, 40
CLK_TCK = os.sysconf("SC_CLK_TCK")
BURST_GAP = 0.02  # reads closer than this belong to one screen update

# ---- a minimal VT100/xterm screen: enough of what Textual and ncurses emit ---------------------------------

TOKEN = re.compile(
    r"\x1b\[([0-?]*)[ -/]*([@-~])"  # CSI: params, final
    r"|\x1b\]([^\x07\x1b]*)(?:\x07|\x1b\\)"  # OSC (window title)
    r"|\x1b[P_^X][^\x1b]*\x1b\\"  # DCS, APC, PM, SOS
    r"|\x1b\(([\x20-\x7e])"  # G0 character set
    r"|\x1b[)*+][\x20-\x7e]"  # G1-G3 character sets (unused)
    r"|\x1b[ -/]*([0-9:;<=>?@A-OQ-WYZ\\`a-~])"  # other escapes
    r"|([\x00-\x1a\x1c-\x1f\x7f])"  # C0 controls
    r"|([^\x00-\x1f\x7f]+)",  # text
)
DEC_GRAPHICS = dict(zip("jklmnqtuvwx`a~", "┘┐┌└┼─├┤┴┬│◆▒·", strict=True))


def _width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class Screen:
    """Feed it the bytes a program writes; ``text()`` is what a terminal would show."""

    def __init__(self, cols: int = COLS, rows: int = ROWS) -> None:
        self.cols, self.rows = cols, rows
        self.grid = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self.saved = (0, 0)
        self.top, self.bottom = 0, rows - 1
        self.autowrap = True
        self.wrap_pending = False
        self.graphics = False
        self.last = " "
        self.title = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    def text(self) -> str:
        return "\n".join("".join(line).rstrip() for line in self.grid)

    def feed(self, data: bytes) -> None:
        buf = self._pending + self._decoder.decode(data)
        pos = 0
        while pos < len(buf):
            m = TOKEN.match(buf, pos)
            if m is None:  # an escape sequence cut by the read: wait for the rest
                if len(buf) - pos < 4096:
                    break
                pos += 1  # garbage, not a sequence: drop the ESC
                continue
            self._apply(m)
            pos = m.end()
        self._pending = buf[pos:]

    # ---- helpers ------------------------------------------------------------------------------------------
    def _clamp(self) -> None:
        self.row = min(max(self.row, 0), self.rows - 1)
        self.col = min(max(self.col, 0), self.cols - 1)
        self.wrap_pending = False

    def _scroll(self, n: int, top: int | None = None) -> None:
        """Scroll the region from ``top`` to the bottom margin up by n (down when n < 0)."""
        top = self.top if top is None else top
        region = self.grid[top : self.bottom + 1]
        blank = [[" "] * self.cols for _ in range(min(abs(n), len(region)))]
        region = region[n:] + blank if n > 0 else blank + region[:n]
        self.grid[top : self.bottom + 1] = region[: self.bottom + 1 - top]

    def _index(self) -> None:
        if self.row == self.bottom:
            self._scroll(1)
        elif self.row < self.rows - 1:
            self.row += 1

    def _put(self, ch: str) -> None:
        if self.graphics:
            ch = DEC_GRAPHICS.get(ch, ch)
        width = _width(ch)
        if width == 0:
            return
        if self.wrap_pending or self.col + width > self.cols:
            if self.autowrap:
                self.col = 0
                self._index()
            else:
                self.col = self.cols - width
            self.wrap_pending = False
        self.grid[self.row][self.col] = ch
        if width == 2 and self.col + 1 < self.cols:
            self.grid[self.row][self.col + 1] = ""
        self.last = ch
        if self.col + width >= self.cols:
            self.wrap_pending = True
            self.col = self.cols - 1
        else:
            self.col += width

    def _erase(self, row: int, start: int, end: int) -> None:
        line = self.grid[row]
        line[max(start, 0) : max(end, 0)] = [" "] * (min(end, self.cols) - max(start, 0))

    # ---- one token ----------------------------------------------------------------------------------------
    def _apply(self, m: re.Match[str]) -> None:
        params, final, osc, charset, esc, ctrl, text = m.groups()
        if text is not None:
            for ch in text:
                self._put(ch)
        elif final is not None:
            self._csi(params, final)
        elif ctrl is not None:
            self._control(ctrl)
        elif osc is not None:
            code, _, value = osc.partition(";")
            if code in ("0", "2"):
                self.title = value
        elif charset is not None:
            self.graphics = charset == "0"
        elif esc is not None:
            self._escape(esc)

    def _control(self, ch: str) -> None:
        if ch == "\r":
            self.col, self.wrap_pending = 0, False
        elif ch in "\n\x0b\x0c":
            self._index()
            self.wrap_pending = False
        elif ch == "\b":
            self.col, self.wrap_pending = max(self.col - 1, 0), False
        elif ch == "\t":
            self.col, self.wrap_pending = min((self.col // 8 + 1) * 8, self.cols - 1), False
        elif ch == "\x0e":
            self.graphics = True
        elif ch == "\x0f":
            self.graphics = False

    def _escape(self, final: str) -> None:
        if final == "7":
            self.saved = (self.row, self.col)
        elif final == "8":
            self.row, self.col = self.saved
            self._clamp()
        elif final == "D":
            self._index()
        elif final == "E":
            self.col = 0
            self._index()
        elif final == "M":
            if self.row == self.top:
                self._scroll(-1)
            else:
                self.row = max(self.row - 1, 0)
        elif final == "c":
            self.__init__(self.cols, self.rows)  # type: ignore[misc]

    def _csi(self, params: str, final: str) -> None:
        private = params[:1] in ("?", ">", "<", "=")
        if private:
            if final in "hl" and params.startswith("?"):
                for mode in params[1:].split(";"):
                    if mode == "7":
                        self.autowrap = final == "h"
            return
        args = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []

        def arg(i: int = 0, default: int = 1) -> int:
            return args[i] if len(args) > i and args[i] else default

        if final in "Hf":
            self.row, self.col = arg(0) - 1, arg(1) - 1
        elif final == "A":
            self.row -= arg()
        elif final in "Be":
            self.row += arg()
        elif final in "Ca":
            self.col += arg()
        elif final == "D":
            self.col -= arg()
        elif final == "E":
            self.row, self.col = self.row + arg(), 0
        elif final == "F":
            self.row, self.col = self.row - arg(), 0
        elif final in "G`":
            self.col = arg() - 1
        elif final == "d":
            self.row = arg() - 1
        elif final == "J":
            self._erase_display(arg(0, 0))
            return
        elif final == "K":
            mode = arg(0, 0)
            start, end = {0: (self.col, self.cols), 1: (0, self.col + 1)}.get(mode, (0, self.cols))
            self._erase(self.row, start, end)
            return
        elif final == "X":
            self._erase(self.row, self.col, self.col + arg())
            return
        elif final == "@":
            line = self.grid[self.row]
            line[self.col : self.col] = [" "] * arg()
            del line[self.cols :]
            return
        elif final == "P":
            line = self.grid[self.row]
            del line[self.col : self.col + arg()]
            line.extend([" "] * (self.cols - len(line)))
            return
        elif final in "LM" and self.top <= self.row <= self.bottom:
            self._scroll(-arg() if final == "L" else arg(), top=self.row)
            return
        elif final == "S":
            self._scroll(arg())
            return
        elif final == "T":
            self._scroll(-arg())
            return
        elif final == "b":
            for _ in range(arg()):
                self._put(self.last)
            return
        elif final == "r":
            self.top, self.bottom = arg(0) - 1, arg(1, self.rows) - 1
            self.row = self.col = 0
        elif final == "s":
            self.saved = (self.row, self.col)
        elif final == "u":
            self.row, self.col = self.saved
        else:
            return  # SGR, modes, queries: nothing to draw
        self._clamp()

    def _erase_display(self, mode: int) -> None:
        if mode == 0:
            self._erase(self.row, self.col, self.cols)
            rows = range(self.row + 1, self.rows)
        elif mode == 1:
            self._erase(self.row, 0, self.col + 1)
            rows = range(self.row)
        else:
            rows = range(self.rows)
        for r in rows:
            self._erase(r, 0, self.cols)


# ---- /proc accounting -----------------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on


def process_tree(root: int) -> list[int]:
    """``root`` and all its living descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12]) if fields else None  # utime + stime


def status_kib(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class TreeMeter:
    """Samples a process tree: CPU ticks per pid (first and last seen) and peak RSS per pid."""

    root: int
    first: dict[int, int] = field(default_factory=dict)
    last: dict[int, int] = field(default_factory=dict)
    hwm: dict[int, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def sample(self, count_new_from_zero: bool = True) -> None:
        for pid in process_tree(self.root):
            ticks = cpu_ticks(pid)
            if ticks is None:
                continue
            self.first.setdefault(pid, 0 if count_new_from_zero else ticks)
            self.last[pid] = ticks
            peak = status_kib(pid, "VmHWM")
            if peak is not None:
                self.hwm[pid] = max(peak, self.hwm.get(pid, 0))
            if pid not in self.names:
                with contextlib.suppress(OSError):
                    self.names[pid] = Path(f"/proc/{pid}/comm").read_text().strip()

    def cpu_seconds(self) -> float:
        return sum(self.last[p] - self.first[p] for p in self.last) / CLK_TCK


# ---- running one program in a pty -----------------------------------------------------------------------------


class PtyProcess:
    """A program on the slave side of a fresh pty of COLS x ROWS; its own session and process group."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        """``env`` adds to (or overrides) the environment below; ``cwd`` defaults to the repository root."""
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        dropped = ("COLUMNS", "LINES", "COLORTERM", "TEXTUAL", "NO_COLOR", "FORCE_COLOR")
        full_env = {k: v for k, v in os.environ.items() if k not in dropped}  # TERM alone says what the terminal is
        full_env.update(TERM="xterm-256color", LANG=full_env.get("LANG", "C.UTF-8"), PYTHONUNBUFFERED="1")
        if "UTF-8" not in full_env["LANG"].upper():
            full_env["LANG"] = "C.UTF-8"
        full_env.update(env or {})
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd or ROOT,
            env=full_env,
            close_fds=True,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.screen = Screen()
        self.bytes = 0
        self.bursts = 0
        self._last_read = 0.0

    @property
    def last_read(self) -> float:
        """``time.monotonic()`` of the latest read from the pty (before its bytes reached the screen)."""
        return self._last_read

    def pump(self, timeout: float) -> bool:
        """Read what is there (waiting up to ``timeout``); False once the pty is closed."""
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every slave fd closed
            return False
        if not data:
            return False
        now = time.monotonic()
        if now - self._last_read > BURST_GAP:
            self.bursts += 1
        self._last_read = now
        self.bytes += len(data)
        self.screen.feed(data)
        return True

    def pump_for(self, seconds: float, until: Callable[[], bool] | None = None) -> bool:
        """Pump for ``seconds`` or until ``until()``; True when ``until`` became true."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            open_ = self.pump(min(left, 0.1))
            if until is not None and until():
                return True
            if not open_:  # the pty is closed: wait for the process to be gone, nothing more will come
                if self.proc.poll() is not None:
                    break
                time.sleep(0.01)
        return until is not None and until()

    def pump_until_quiet(self, quiet: float = BURST_GAP, limit: float = 0.5) -> None:
        """Read until nothing has come for ``quiet`` seconds (at most ``limit``): the rest of a frame."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], quiet)
            if not ready or not self.pump(0):
                return

    def stop(self) -> float | None:
        """Quit with "q"; then SIGTERM and SIGKILL to the process group. Seconds "q" took, when it worked."""
        if self.proc.poll() is None:
            sent = time.monotonic()
            with contextlib.suppress(OSError):
                os.write(self.master, b"q")
            self.pump_for(5.0, lambda: self.proc.poll() is not None)
            took = time.monotonic() - sent if self.proc.poll() is not None else None
        else:
            took = None
        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)  # also any child left in the group
            if self.proc.poll() is None:
                self.pump_for(wait, lambda: self.proc.poll() is not None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=1)
        with contextlib.suppress(OSError):
            os.close(self.master)
        return took


ACTIVE: list[PtyProcess] = []  # programs in a pty now: stop_leftovers ends what is left


def interrupt_on_signals() -> None:
    """SIGTERM (and SIGINT, also when started in the background with it ignored) raise
    KeyboardInterrupt, so the clean-up blocks run."""

    def raise_interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


@contextlib.contextmanager
def stop_leftovers(*closers: Callable[[], None]) -> Iterator[None]:
    """When the block ends, however: stop any program still in a pty, then run ``closers``, shielded."""
    try:
        yield
    finally:
        with shielded():
            for leftover in list(ACTIVE):
                leftover.stop()
            for close in closers:
                close()


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while cleaning up, so a second one cannot leave processes behind."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def compile_bytecode() -> None:
    """Write the bytecode of ``console/`` (and the emulator) as an installed package has it.

    A checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (set on some CI and sandbox machines) would otherwise
    compile every module from source at every start, ~0.1 s that no installed jetconsole pays, and stale
    bytecode from an older commit would be compiled again too."""
    import compileall

    for folder in ("console", "tests/realparts"):
        compileall.compile_dir(str(ROOT / folder), quiet=1)


def report_header(
    name: str, started: float, load_start: tuple[float, float, float], args: object, **settings: object
) -> dict[str, object]:
    """The common head of a benchmark's JSON: what ran, when, on which machine, with what."""
    import platform

    return {
        "benchmark": name,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
        },
        "settings": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, **settings},
    }


def save_report(report: dict[str, object], output: Path | None = None) -> Path:
    """Write ``report`` as indented JSON to ``output`` (default benchmarks/results/<benchmark>-<time>.json,
    the name from ``report_header``); the path written."""
    out = output or RESULTS / f"{report['benchmark']}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return out


# ---- the replay chat server in a child process ----------------------------------------------------------------


class _TimedFrames(list):
    """Frames that note when the server takes them: the first, the marker's (and the one after it), the end."""

    def __init__(self, frames: list[str], mark: int) -> None:
        super().__init__(frames)
        self.mark = mark
        self.times: dict[str, float | None] = {}

    def __iter__(self) -> Iterator[str]:  # the server's send loop iterates the frames once per request
        t = self.times = {"first": None, "mark_out": None, "mark_next": None, "end": None}
        for i, frame in enumerate(list.__iter__(self)):
            now = time.monotonic()
            if i == 0:
                t["first"] = now
            elif i == self.mark:
                t["mark_out"] = now
            elif i == self.mark + 1:
                t["mark_next"] = now  # the marker's write has returned (plus at most one pacing gap)
            yield frame
        t["end"] = time.monotonic()


def _replay_child(conn: object) -> None:
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends it
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.replay import ReplayServer, Script, token_frames

    frames = _TimedFrames([], 0)
    with ReplayServer() as srv:
        srv.httpd.handle_error = lambda *_: None  # type: ignore[method-assign]  # a client gone mid-request
        conn.send(srv.url)  # type: ignore[attr-defined]
        while (msg := conn.recv()) is not None:  # type: ignore[attr-defined]
            op, arg = msg
            if op == "serve":
                tokens, rate, first_delay = arg
                frames = _TimedFrames(token_frames(tokens), len(tokens))  # [0] is the role chunk
                srv.script = Script(frames=frames, rate=rate, first_delay=first_delay)
                conn.send(len(srv.requests))  # type: ignore[attr-defined]
            elif op == "timing":
                conn.send((dict(frames.times), len(srv.requests), srv.disconnects))  # type: ignore[attr-defined]


class ReplayProcess:
    """``tests.replay.ReplayServer`` in a forked child: its send loop does not share this process's GIL or CPU.

    ``serve(tokens, rate, first_delay)`` sets the answer to every following request (one token per content
    frame, the last token being the marker); ``timing()`` gives ``time.monotonic()`` (one clock for every
    process) of the latest answer's first frame, its marker frame (``mark_out``), the frame after the marker
    (``mark_next``: the marker's write has returned), and the end of the stream, with the request count.
    Start it before any pty, so the child holds none of their descriptors.
    """

    def __init__(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_replay_child, args=(child,), daemon=True, name="replay-server")
        self.proc.start()
        child.close()
        self.url: str = self._conn.recv()

    def serve(self, tokens: list[str], rate: float = 0.0, first_delay: float = 0.0) -> None:
        self._conn.send(("serve", (tokens, rate, first_delay)))
        self._conn.recv()

    def timing(self) -> tuple[dict[str, float | None], int, int]:
        """(times of the latest answer, requests so far, streams the client closed early)."""
        self._conn.send(("timing", None))
        return self._conn.recv()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(None)
        self.proc.join(3)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(3)
