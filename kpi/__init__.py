"""kpi: Police and Crime Plan performance reporting.

`kpi.open()` returns the project object the command line uses (kpi.api.Project); see
docs/python.md. Nothing heavy is imported here: the console script starts through this
package, and Polars is loaded only when a project is opened.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from kpi.api import Project

__version__ = "0.1.0"
__all__ = ["__version__", "open"]


def open(path: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None, *,
         notify: Callable[[str], None] | None = None) -> Project:
    """The project at `path` (a folder holding kpi.toml, or the file); None finds kpi.toml
    from the working directory as the command line does, and "sample" opens the bundled
    West Midlands sample. Errors are kpi.errors.KpiError subclasses."""
    from kpi import api

    return api.open(path, notify=notify)
