"""Saved bench runs: the results folder, writing a run (JSON and CSV), reading and listing the runs
saved there, and comparing several side by side.

No Textual.  ``saved_runs`` lists and reads a folder: call it from a worker thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from console import config as cfg
from console.bench import report as rp
from console.runtime.sanitise import clean, clean_tree


def results_dir(config: cfg.Config, override: str | None = None) -> Path:
    if override or config.bench_results_dir:
        return Path(override or config.bench_results_dir).expanduser()
    import platformdirs

    return platformdirs.user_data_path("jetconsole") / "bench"


def save(report: rp.BenchReport, folder: Path, baseline: str = "") -> tuple[Path, Path]:
    """``bench-YYYYmmdd-HHMMSS.json`` and ``.csv`` in ``folder``; never overwrites."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = folder / f"bench-{stamp}"
    n = 1
    while base.with_suffix(".json").exists():
        n += 1
        base = folder / f"bench-{stamp}-{n}"
    json_path, csv_path = base.with_suffix(".json"), base.with_suffix(".csv")
    json_path.write_text(rp.to_json(report) + "\n", encoding="utf-8")
    csv_path.write_text(rp.to_csv(report, baseline), encoding="utf-8")
    return json_path, csv_path


@dataclass(frozen=True)
class SavedRun:
    """One JSON file of a results folder: its report, or why it cannot be read."""

    path: Path
    report: rp.BenchReport | None = None
    error: str = ""
    modified: str = ""  # the file's mtime, ISO 8601 UTC

    @property
    def started(self) -> str:
        return self.report.started if self.report else self.modified

    @property
    def labels(self) -> str:
        if self.report is None:
            return ""
        return ", ".join(dict.fromkeys(r.name for r in self.report.results)) or "(no results)"

    @property
    def levels(self) -> str:
        if self.report is None:
            return ""
        return ",".join(str(c) for c in dict.fromkeys(r.concurrency for r in self.report.results))

    def text(self) -> str:
        """Everything a filter matches on."""
        r = self.report
        return " ".join(
            [
                self.path.name,
                self.started,
                self.labels,
                f"unreadable: {self.error}" if self.error else "",
                r.device.device if r else "",
                r.device.hostname if r else "",
            ]
        )


def read_report(path: Path) -> rp.BenchReport:
    """A saved run; raises ValueError saying why it cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise ValueError(f"cannot read it: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON (line {exc.lineno}: {exc.msg})") from exc
    return rp.from_dict(clean_tree(data))  # a file from anywhere: its labels, model ids, notes hold no control


def saved_runs(folder: Path) -> tuple[list[SavedRun], str]:
    """Every ``*.json`` in ``folder``, newest first, and a word about the folder ("" when it is fine)."""
    try:
        files = [p for p in folder.iterdir() if p.suffix == ".json" and p.is_file()]
    except FileNotFoundError:
        return [], f"no saved runs yet: {folder} does not exist"
    except OSError as exc:
        return [], f"cannot list {folder}: {exc.strerror or exc}"
    runs = []
    for path in files:
        try:
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
        except OSError:
            modified = ""
        try:
            runs.append(SavedRun(path, read_report(path), modified=modified))
        except ValueError as exc:
            runs.append(SavedRun(path, error=str(exc), modified=modified))
    runs.sort(key=lambda r: (r.started, r.path.name), reverse=True)
    return runs, "" if runs else f"no saved runs in {folder}"


def compare(runs: list[SavedRun]) -> rp.BenchReport:
    """Several saved runs side by side (pure); raises ValueError when one of them cannot be read."""
    bad = [r for r in runs if r.report is None]
    if bad:
        raise ValueError("; ".join(f"{r.path.name}: {r.error}" for r in bad))
    return rp.merge([r.report for r in runs if r.report is not None])


def compare_devices(folder: Path) -> tuple[rp.BenchReport | None, list[str]]:
    """The newest run of each device folder in ``folder`` (``jetconsole fleet do collect-bench`` makes one
    per device) side by side, each result labelled with its device; and a line for each device without one."""
    reports, missing = [], []
    try:
        devices = sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError as exc:
        return None, [f"cannot list {folder}: {exc.strerror or exc}"]
    for device in devices:
        runs, why = saved_runs(device)
        newest = next((r for r in runs if r.report is not None), None)
        if newest is None or newest.report is None:
            missing.append(clean(f"{device.name}: {why or 'no readable run'}"))  # a folder's name: any text
            continue
        results = tuple(replace(res, label=clean(f"{device.name}: {res.label}")) for res in newest.report.results)
        reports.append(replace(newest.report, results=results))
    return (rp.merge(reports) if reports else None), missing
