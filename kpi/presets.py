"""Ready projects shipped with kpi, copied into a folder by `kpi init --preset NAME DIR`.

In a wheel they live in the package (kpi/_presets/NAME, and the bundled sample in
kpi/_bundled/west-midlands: see pyproject.toml); in a checkout, in datasets/NAME.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from kpi.catalogue import PROJECT_FILE
from kpi.errors import ConfigError, UsageError


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    folders: tuple[str, ...] = ()  # empty folders the project expects (where downloads go)


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("police-uk", "data.police.uk street crime, outcomes and stop and search downloads, "
                        "any force or several", ("downloads",)),
    Preset("home-office-prc", "Home Office police recorded crime by police force area, "
                              "quarterly, every force", ("downloads",)),
    Preset("west-midlands", "the bundled West Midlands sample (synthetic extracts) as an "
                            "editable copy, its store built on the spot"),
)}


def preset_dir(name: str) -> Path:
    """Where a preset's files are in this installation."""
    if name not in PRESETS:
        raise UsageError(f"unknown preset '{name}'",
                         hint=f"presets: {', '.join(PRESETS)} ('kpi init --list-presets')")
    here = Path(__file__).resolve().parent
    for candidate in (here / "_presets" / name, here / "_bundled" / name,
                      here.parent / "datasets" / name):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    raise ConfigError(f"preset '{name}' is missing from this installation",
                      hint="reinstall kpi")


def _copied(path: Path) -> bool:
    """Project files, not the tools that made them (a generator script, bytecode)."""
    return path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts


def copy_preset(name: str, directory: Path) -> list[Path]:
    """Copy a preset's files into `directory` (created if missing) and make its data folder and
    the empty folders it expects. Refuses to overwrite an existing kpi.toml. Returns the files
    written."""
    source = preset_dir(name)
    if (directory / PROJECT_FILE).exists():
        raise UsageError(f"{directory / PROJECT_FILE} already exists; not overwriting it",
                         hint="choose another folder")
    written = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source)
        if not _copied(relative):
            continue
        target = directory / relative
        if target.exists():
            raise UsageError(f"{target} already exists; not overwriting it",
                             hint="choose an empty folder")
        written.append(relative)
    # Checked before anything is written, so a refusal leaves the folder as it was; kpi.toml
    # goes last, so an interrupted copy is not taken for a project.
    written.sort(key=lambda relative: relative.as_posix() == PROJECT_FILE)
    for relative in written:
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target)
    for folder in ("data", *PRESETS[name].folders):
        (directory / folder).mkdir(parents=True, exist_ok=True)
    return written
