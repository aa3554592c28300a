"""How a field of a config dataclass is offered on the command line: ``Annotated[int, Opt("-k", min=1)]``.

Configs are dataclasses in torch-free modules, one field a setting, its trailing ``# comment`` its help;
``config_fields`` reads them (name, type, default, help, ``Opt``) and ``mmwe.cli.options`` turns each into an
option. ``Opt`` changes what it would guess; the library ignores it.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import io
import textwrap
import tokenize
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin, get_type_hints


class Opt:
    """``flags``: a short alias alone ("-k") is added to ``--field-name``, a long flag ("--from") replaces it;
    ``min``: the smallest integer accepted; ``argument``: positional (a tuple field takes several: ``VECTORS...``);
    ``out``: an output path (its folder is made and the output locked when the option is read); ``commas``: a
    repeatable option also takes comma-separated values (``--lr-grid 0.1,0.3`` = ``--lr-grid 0.1 --lr-grid 0.3``)."""

    def __init__(self, *flags: str, min: int | None = None, argument: bool = False, metavar: str | None = None,
                 out: bool = False, commas: bool = False) -> None:
        self.flags, self.min, self.argument, self.metavar, self.out = flags, min, argument, metavar, out
        self.commas = commas

    def __repr__(self) -> str:
        return f"Opt{self.flags!r}" + "".join(f", {k}={v!r}" for k, v in vars(self).items() if k != "flags" and v)


ARG = Opt(argument=True)  # a positional argument


@dataclass(frozen=True)
class ConfigField:
    name: str
    type: Any  # the annotation, less Annotated: int, str | None, tuple[int, ...], Literal["a", "b"], ...
    default: Any  # inspect.Parameter.empty: required
    help: str  # the field's trailing comment
    opt: Opt  # how it is offered (mmwe.config.Opt)


def config_class(target: type | str) -> type:
    module, _, name = target.partition(":") if isinstance(target, str) else ("", "", "")
    return getattr(importlib.import_module(module), name) if module else target


def _comments(cls: type) -> dict[str, str]:
    """Each field's trailing comment, continued by comment-only lines right below it (in the class that has it)."""
    helps = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        code = textwrap.dedent(inspect.getsource(klass))
        notes = {t.start[0]: (t.string.lstrip("#").strip(), t.line.lstrip().startswith("#"))
                 for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT}
        for n in (n for n in ast.parse(code).body[0].body if isinstance(n, ast.AnnAssign)):
            line, text = n.end_lineno, []
            while line in notes and (not text or notes[line][1]):
                text, line = text + [notes[line][0]], line + 1
            helps[n.target.id] = " ".join(text)
    return helps


def config_fields(target: type | str, skip: tuple[str, ...] = ()) -> list[ConfigField]:
    """The init fields of dataclass ``target`` (a class or "mmwe.module:Class"), less ``skip``."""
    cls = config_class(target)
    hints, helps, out = get_type_hints(cls, include_extras=True), _comments(cls), []
    for f in (f for f in dataclasses.fields(cls) if f.init and f.name not in skip):
        extra = get_args(hints[f.name])[1:] if get_origin(hints[f.name]) is Annotated else ()
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        out.append(ConfigField(f.name, get_args(hints[f.name])[0] if extra else hints[f.name],
                               inspect.Parameter.empty if default is dataclasses.MISSING else default,
                               helps.get(f.name, ""), next((e for e in extra if isinstance(e, Opt)), Opt())))
    return out
