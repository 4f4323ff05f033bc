"""Keeping a store small and fast after many loads: compaction, a log checkpoint and vacuum,
with a retention rule that keeps every version a board paper was computed from.

Every load is a Delta commit that adds files and marks the replaced ones removed; the removed
files stay, so every earlier version can be read (`--as-of`). A year of nightly loads leaves
hundreds of small files and commits. `kpi vacuum`:

1. compacts each month's small files into one (a commit that changes no row), but for a month
   loaded before it ended, whose files stay as written (`store.unfinished`);
2. writes a checkpoint of the Delta log, so opening the table reads one file, not every commit,
   and deletes the checkpoints it supersedes (a nightly vacuum would otherwise add one a night:
   32 MiB a year on a small table). Reading an older version replays the log's commits instead;
3. deletes the data files no kept version needs. Kept: the latest version, every version of the
   last `keep_days` days (rounded up to whole hours: never less than asked), and every version
   a paper exported by `kpi export markdown` read (recorded in the store's `published.jsonl`
   when the paper is written), so the paper's `--as-of` still reproduces it. Log entries are
   never deleted: `kpi history` still lists every load, and reading a version whose files are
   gone says so.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kpi.catalogue import Project

PUBLISHED = "published.jsonl"
MAINTENANCE_KEY = "kpi.maintenance"


@dataclass(frozen=True)
class VacuumResult:
    dataset: str
    version_before: int
    version_after: int
    bytes_before: int
    bytes_after: int
    files_before: int
    files_after: int
    removed: int  # data files deleted (or, on a dry run, that would be)
    pinned: tuple[int, ...]  # versions kept because a paper read them


def record_published(project: Project, versions: dict[str, int], *, paper: str,
                     period: str) -> None:
    """Note that a paper was computed from these table versions, so vacuum keeps them."""
    if not versions:
        return
    project.data_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), "paper": paper,
                       "period": period, "versions": versions}, sort_keys=True)
    with open(project.data_dir / PUBLISHED, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def published_versions(project: Project, dataset_id: str) -> set[int]:
    """Every version of the dataset a recorded paper read."""
    path = project.data_dir / PUBLISHED
    if not path.exists():
        return set()
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            version = json.loads(line).get("versions", {}).get(dataset_id)
        except (ValueError, AttributeError):
            continue  # a torn last line of a write killed mid-way pins nothing
        if isinstance(version, int):
            out.add(version)
    return out


def _data_files(table_dir: Path) -> tuple[int, int]:
    """Number and total bytes of the Parquet files under a table folder (not its log)."""
    count = size = 0
    for root, dirs, files in os.walk(table_dir):
        dirs[:] = [d for d in dirs if d != "_delta_log"]
        for name in files:
            if name.endswith(".parquet"):
                count += 1
                size += (Path(root) / name).stat().st_size
    return count, size


def _prune_checkpoints(table_dir: Path) -> int:
    """Delete the log's checkpoint files older than the one `_last_checkpoint` names; return
    how many. The commits they summarise stay, so every version can still be read."""
    log = table_dir / "_delta_log"
    try:
        latest = int(json.loads((log / "_last_checkpoint").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0  # no checkpoint recorded: nothing is superseded
    pruned = 0
    for checkpoint in log.glob("*.checkpoint*.parquet"):
        version = checkpoint.name.split(".", 1)[0]
        if version.isdigit() and int(version) < latest:
            checkpoint.unlink()
            pruned += 1
    return pruned


def _on_disk(table_dir: Path, listed: str) -> bool:
    """Whether a data file a vacuum lists (a path in the table, or a URI) is on disk."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    if "://" in listed:
        return Path(url2pathname(urlparse(listed).path)).exists()
    return (table_dir / listed).exists()


def retention_hours(keep_days: float) -> int:
    """The whole hours Delta's vacuum keeps for `keep_days` days, rounded up: never fewer
    than asked. Rounded down, `--keep-days 0.02` (29 minutes) kept 0 hours and deleted the
    files of a version made a minute before, and 1.99 days kept 47 of its 47.76 hours."""
    return math.ceil(keep_days * 24)


def vacuum(project: Project, dataset_id: str, *, keep_days: float = 30.0,
           dry_run: bool = False) -> VacuumResult:
    """Compact, checkpoint and vacuum one dataset's table (see the module docstring)."""
    from deltalake import CommitProperties, DeltaTable

    from kpi import store

    path = store.table_path(project, dataset_id)
    with store._locked(project, dataset_id):
        table = DeltaTable(store.table_uri(path))
        before = table.version()
        files_before, bytes_before = _data_files(path)
        pinned = tuple(sorted(v for v in published_versions(project, dataset_id)
                              if v <= before))
        if not dry_run:
            metadata = {MAINTENANCE_KEY: json.dumps({"operation": "compact"})}
            # A month loaded before it ended is left in its files as written: rewritten, it
            # would read as loaded after it ended (`store.unfinished`) and count in full.
            early = sorted(str(m) for m in store.unfinished(project, dataset_id))
            table.optimize.compact(
                partition_filters=[("month", "not in", early)] if early else None,
                commit_properties=CommitProperties(custom_metadata=metadata))
            table = DeltaTable(store.table_uri(path))
            table.create_checkpoint()
        options = {"retention_hours": retention_hours(keep_days),
                   "enforce_retention_duration": False, "keep_versions": list(pinned) or None}
        # Delta lists every file its log marks removed past the retention, those an earlier
        # vacuum deleted too (kpi keeps the whole log): counted, "deleted 24" was said of a
        # vacuum that deleted 12 and of one with nothing left to delete. Counted here, the
        # listed files on disk before the vacuum.
        listed = table.vacuum(dry_run=True, **options)
        removed = [f for f in listed if _on_disk(path, f)]
        if not dry_run:
            table.vacuum(dry_run=False, **options)
        if not dry_run:
            _prune_checkpoints(path)  # after the vacuum, which read the log as it was
        files_after, bytes_after = _data_files(path)
        return VacuumResult(dataset=dataset_id, version_before=before,
                            version_after=table.version(), bytes_before=bytes_before,
                            bytes_after=bytes_after, files_before=files_before,
                            files_after=files_after, removed=len(removed), pinned=pinned)
