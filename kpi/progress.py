"""Progress of long work, told to whoever asked for it.

A load or an export takes a `progress` callable and calls it with a `Step` as work gets done:
the command line draws them as bars on a terminal (and asks for none in a scheduled job), a
notebook passes any function. Standard library only, so the store, the ingest and the paper
report progress without knowing who listens or importing Rich.

The tasks (docs/python.md):

- an extract's path, unit "bytes": its bytes read of its size, with the rows read so far
  (`rows`); the last step of each file has `done == total`;
- a database query's label, unit "rows": the rows it has returned (no total);
- "store", unit "rows": the good rows written into the dataset's table, of all of them;
- "figures", unit "KPIs": the paper's KPIs computed (0, then all of them);
- "charts", unit "charts": the paper's charts drawn or reused, of all of them;
- "sections", unit "sections": the paper's sections written, of all of them.

`done` never decreases within a task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar


@dataclass(frozen=True)
class Step:
    """`done` of `total` (None when not known) `unit`s of `task`; `rows` read so far for an
    extract."""

    task: str
    unit: str
    done: int
    total: int | None
    rows: int = 0


Progress = Callable[[Step], None]


T = TypeVar("T")


def each(items: Sequence[T], task: str, progress: Progress | None) -> Iterator[T]:
    """The items in order, telling `progress` as each is done (the task's name is its unit:
    "sections")."""
    for done, item in enumerate(items, start=1):
        yield item
        if progress is not None:
            progress(Step(task, task, done, len(items)))
