"""Putting a document and its folder of files in place, so that no reader ever sees a mix.

A board paper is a Markdown file and a folder of figures beside it (board.md, board-files/).
Writing them in place one by one means a run killed half way leaves the previous paper's text
with some of the new figures: a paper that is wrong with nothing to say so. Instead everything
is written to a staging folder beside the paper, and then moved into place by renames, which
the filesystem does atomically:

1. the previous paper is moved into the staging folder;
2. the previous files folder is moved out, and the new one in;
3. the new paper is moved in.

So at every moment the path holds either the previous paper with its own figures, the new
paper with its own figures, or (between steps 1 and 3, a few system calls) no paper at all:
never one paper's text with another's figures. A run killed in that gap leaves the previous
paper in its staging folder (`.board.md.*.staging/previous/`); the next run clears it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

# The files kpi draws into a paper's folder; anything else there is the user's and is kept.
FIGURE = re.compile(r"^figure-\d+-.*\.png$")


@contextmanager
def staged(output: Path, files_dir: str) -> Iterator[Path]:
    """A staging folder to write the new document (named `output.name`) and its files folder
    (`files_dir`) into; when the block ends without an error they replace the previous ones,
    and the staging folder is removed whatever happens."""
    from kpi.locks import folder_locked

    parent = output.parent
    # Exports into one folder run one after the other: two interleaved would move one's
    # figures in beside the other's paper.
    with folder_locked(parent):
        for leftover in parent.glob(f".{glob_escape(output.name)}.*.staging"):
            shutil.rmtree(leftover, ignore_errors=True)  # from a run that was killed
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".staging",
                                        dir=parent))
        try:
            yield staging
            _publish(staging, output, files_dir)
        except OSError as exc:
            if exc.filename is None:  # e.g. from a library writing through a file object
                raise OSError(exc.errno, exc.strerror, str(output)) from exc
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, output: Path, files_dir: str) -> None:
    new_paper, new_files = staging / output.name, staging / files_dir
    old_files = output.parent / files_dir
    # Files the user keeps in the folder (not figures kpi drew) go on into the new one; copied,
    # so a run killed now still has them where they were.
    if old_files.is_dir():
        for entry in sorted(old_files.iterdir()):
            if not FIGURE.match(entry.name):
                new_files.mkdir(exist_ok=True)
                if entry.is_dir():
                    shutil.copytree(entry, new_files / entry.name, symlinks=True)
                else:
                    shutil.copy2(entry, new_files / entry.name, follow_symlinks=False)
    previous = staging / "previous"
    previous.mkdir()
    if output.exists():
        os.replace(output, previous / output.name)
    if old_files.exists():
        os.replace(old_files, previous / files_dir)
    if new_files.exists():
        os.replace(new_files, old_files)
    os.replace(new_paper, output)


def glob_escape(name: str) -> str:
    """A file name as a glob pattern that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def check_target(path: Path | None, option: str, project=None, inputs: Iterable[Path] = (),
                 *, folder: bool = False) -> None:
    """The one rule for every path kpi writes at the user's choosing (`--output`,
    `--quarantine`, a paper's figures file and folder): refused before any work (a usage
    error) when it names a folder where a file goes, or, once the project is known, when it
    lies inside the data folder (the tables and their logs are kpi's alone; only a quarantine
    file may go in its `quarantine` folder), or is the project file or a file the command
    reads (`inputs`): writing there would destroy what it names."""
    from kpi.errors import UsageError
    from kpi.errors import option as spelled

    if path is None:
        return
    # A command-line option is spelled as the face that asked spells it (`quarantine` from
    # Python); a phrase ("the figures file of output") is the caller's own.
    name = spelled(option) if option.startswith("--") else option
    if not folder and path.is_dir():
        raise UsageError(f"{name} '{path}' is a folder; it should name a file",
                         hint="for example " + (spelled(option, path / "out.txt")
                                                if option.startswith("--")
                                                else f"{option} {path / 'out.txt'}"))
    if project is None:
        return
    target = path.resolve()
    protected = [(project.path, "the project file"),
                 *((Path(p), "a file this command reads") for p in inputs),
                 *((p, "a file the project reads") for p in _project_inputs(project))]
    for other, what in protected:
        if _same_file(target, other):
            raise UsageError(f"{name} '{path}' is {what}; writing there would destroy it",
                             hint=f"choose another file for {name}")
    data = project.data_dir.resolve()
    if target == data or data in target.parents:
        if option == "--quarantine" and (data / "quarantine") in target.parents:
            return
        raise UsageError(f"{name} '{path}' is inside the data folder {data}, which only "
                         "kpi's loads write", hint="choose a path outside the data folder")


def _project_inputs(project) -> list[Path]:
    """The files kpi.toml names: each KPI's weights file and the files each dataset's
    `sources` match."""
    import glob

    found: list[Path] = []
    for kpi in project.kpis:
        if kpi.weights:
            found.append(project.root / kpi.weights)
    for spec in project.datasets.values():
        for source in spec.sources:
            found.extend(Path(p) for p in glob.glob(str(project.root / source)))
    return found


def _same_file(target: Path, other: Path) -> bool:
    """The same file by path once links are followed, or by identity (a hard link)."""
    try:
        if target == other.resolve():
            return True
        return target.exists() and other.exists() and os.path.samefile(target, other)
    except OSError:
        return False
