"""Option values converted without pydantic where Typer's conversion cannot fail.

Typer (0.29) converts every option's value through a pydantic `TypeAdapter`, so parsing any
command line imported pydantic and built an adapter per option: about 0.1-0.15 s of CPU in
every uncached answer, more than the rest of the command line's parsing. kpi's options are
text, flags, choices (enums) and paths. For a value that is already what Typer would return
(text as text, a flag as a bool, an enum member), that is one of the choices as Typer matches
it, or a path, the value is converted here with Typer's own choice and path functions;
anything else (a value that is not one of the choices, a parser, a file) goes to Typer's own
conversion, which gives its usual result or error. If Typer's internals are not as expected,
nothing is changed and Typer converts everything itself.

A number (an int or float option such as `kpi show --months`) is read here by kpi's one rule
for typed numbers, `kpi.periods.typed_number`: ASCII digits in the option's range, as a typed
month is; Typer's conversion also took '+12', '1_2', '12.0' and '1e3'. A number refused is a
usage error (exit 2) in kpi's words, with a hint (`NumberError`).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

_MISSING = object()


def _number_error() -> type:
    """Click's usage error (from the copy of Click that Typer carries) for a number refused:
    kpi's one line and hint, which kpi.cli prints as it prints every usage error."""
    from typer._click.exceptions import BadParameter

    class NumberError(BadParameter):
        def __init__(self, message: str, hint: str, ctx: Any, param: Any):
            super().__init__(message, ctx=ctx, param=param)
            self.kpi_hint = hint

        def format_message(self) -> str:
            return self.message

    return NumberError


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

    if annotation in (int, float) and isinstance(value, str):
        return typed_number(annotation is int, info, value, param, ctx)
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


def typed_number(whole: bool, info: Any, value: str, param: Any, ctx: Any) -> int | float:
    """An int or float option's text read by kpi.periods.typed_number, in the option's range
    (Typer's `min` and `max`); a refusal is a usage error naming the option."""
    from kpi.errors import UsageError
    from kpi.periods import typed_number as read

    name = param.opts[0] if getattr(param, "opts", None) else f"'{param.name}'"
    default = param.default if isinstance(param.default, (int, float)) else None
    example = None
    if default is not None and not isinstance(default, bool):
        example = f"for example {name} {default:g}"
    try:
        return read(value, what=name, low=info.min, high=info.max, whole=whole, hint=example)
    except UsageError as exc:
        raise _number_error()(exc.message, exc.hint or "", ctx, param) from None
