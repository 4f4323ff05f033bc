"""Option values converted without pydantic where Typer's conversion cannot fail.

Typer (0.29) converts every option's value through a pydantic `TypeAdapter`, so parsing any
command line imported pydantic and built an adapter per option: about 0.1-0.15 s of CPU in
every uncached answer, more than the rest of the command line's parsing. kpi's options are
text, flags, choices (enums) and paths. For a value that is already what Typer would return
(text as text, a flag as a bool, an enum member), that is one of the choices as Typer matches
it, or a path, the value is converted here with Typer's own choice and path functions;
anything else (a value that is not one of the choices, numbers, a parser, a file) goes to
Typer's own conversion, which gives its usual result or error. If Typer's internals are not
as expected, nothing is changed and Typer converts everything itself.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

_MISSING = object()


def install() -> None:
    """Give Typer's parameters the quick conversion first (once per process)."""
    try:
        from typer import _param_types
        from typer._coercion import build_runtime_param
        from typer.core import _TyperParameter
    except ImportError:  # another Typer: it converts everything itself
        return
    if getattr(_TyperParameter, "_kpi_quick", False) or not all(
            hasattr(_param_types, name) for name in ("coerce_cli_choice", "coerce_cli_path")):
        return
    typer_runtime_param = _TyperParameter.get_runtime_param

    class Quick:
        """Typer's RuntimeParam.coerce for what cannot fail; anything else goes to Typer's
        own conversion, built when first needed."""

        def __init__(self, descriptor: Any):
            self._descriptor = descriptor
            self._typer: Any = None

        def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
            several = param.multiple or param.nargs == -1
            if value is None:  # as Typer: nothing given
                return () if several else None
            if not (several and isinstance(value, str)):
                got = _quick(self._descriptor, value, param, ctx)
                if got is not _MISSING:
                    return got
            if self._typer is None:
                self._typer = build_runtime_param(self._descriptor)
            return self._typer.coerce(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            descriptor = self.type_descriptor
            if descriptor.file_annotation is not None or descriptor.parameter_info.parser:
                return typer_runtime_param(self)
            self._runtime_param = Quick(descriptor)
        return self._runtime_param

    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]
    _TyperParameter._kpi_quick = True  # type: ignore[attr-defined]


def _quick(descriptor: Any, value: Any, param: Any, ctx: Any) -> Any:
    """The value as Typer would convert it, or _MISSING where only Typer may say."""
    annotation = descriptor.annotation
    if get_origin(annotation) is list:
        if not isinstance(value, (list, tuple)):
            return _MISSING
        (item,) = get_args(annotation) or (_MISSING,)
        out = [_leaf(item, descriptor.parameter_info, one, param, ctx) for one in value]
        return _MISSING if any(one is _MISSING for one in out) else out
    return _leaf(annotation, descriptor.parameter_info, value, param, ctx)


def _leaf(annotation: Any, info: Any, value: Any, param: Any, ctx: Any) -> Any:
    from typer import _param_types

    if annotation is str:
        return value if isinstance(value, str) else _MISSING
    if annotation is bool:
        return value if isinstance(value, bool) else _MISSING
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        if isinstance(value, annotation):
            return value
        try:
            return _param_types.coerce_cli_choice(value, choices=list(annotation),
                                                  case_sensitive=info.case_sensitive, ctx=ctx)
        except ValueError:  # not a choice: Typer's error names them
            return _MISSING
    if annotation is Path and info.path_type in (None, Path) and isinstance(value, str) \
            and value:
        return _param_types.coerce_cli_path(Path(value), info, path_type=Path, param=param,
                                            ctx=ctx)
    return _MISSING
