"""A command's interface generated from config dataclasses (one option a field), with one-line errors.

``@config_options(Config, ...)`` (a class or ``"mmwe.module:Class"``) gives a command: ``--kebab-name`` per field,
its default (none: required), a type from the annotation (bool: ``--x/--no-x``; ``tuple[T, ...]``: repeatable;
``Literal``: its choices, checked here unless the config has a ``validate()``), the field's trailing ``# comment`` as
help (continued on comment-only lines below), and what ``mmwe.config.Opt`` says (short alias, other flag, positional,
integer minimum, output path: mkdir -p + lock, comma-separated values). Plus ``--config run.toml`` and ``--set
key=value`` (they set the defaults: file < --set < option) and, with ``json="help"``, ``--json``. The command gets
``cfg`` (the first config, built) and/or ``overrides`` (the other settings given). Configs are imported at start-up:
their modules must not import torch (``--help`` and input errors must not wait for it).
"""

from __future__ import annotations

import dataclasses
import inspect
import tomllib
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import typer
from rich.markup import escape

from mmwe.config import ConfigField, Opt, config_class, config_fields
from mmwe.errors import MmweError
from mmwe.fileio import lock_output

_FILES = "Settings from a file or KEY=VALUE"


def _split(flag: str, kind: type, values: list[str]) -> tuple:
    """``--x a,b --x c`` -> (a, b, c) of ``kind``; else one line naming the flag."""
    try:
        if (out := tuple(kind(x.strip()) for v in values for x in str(v).split(",") if x.strip())) or not values:
            return out
    except ValueError:
        pass
    raise MmweError(f"{flag}: expected comma-separated {kind.__name__} values, got {','.join(values)!r}")


def _check(flag: str, o: Opt, choices: tuple | None, kind: type = str):
    def check(value: Any) -> Any:  # typer's usage errors take several lines: these take one
        value = _split(flag, kind, value) if o.commas and value is not None else value
        if o.min is not None and value is not None and value < o.min:
            raise MmweError(f"{flag}: expected an integer >= {o.min}, got {value}")
        if choices and value is not None and value not in choices:
            raise MmweError(f"{flag}: expected {', '.join(choices[:-1])} or {choices[-1]}, got {value!r}")
        return _make_parent(flag, value) if o.out and value is not None else value
    return check


def _make_parent(flag: str, value: Any) -> Any:
    try:
        Path(value).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MmweError(f"{flag}: cannot create the folder {Path(value).parent} ({exc.strerror or exc}); fix: "
                        f"choose another {flag}", path=value) from None
    lock_output(value)  # a second run writing it refuses, naming this one (released when `main` returns)
    return value


def _param(f: ConfigField, flag: str | None, panel: str, validates: bool) -> inspect.Parameter:
    args = [a for a in get_args(f.type) if a is not type(None)]
    optional = get_origin(f.type) in (Union, types.UnionType) and len(args) == 1
    base, default, metavar, choices, kind = args[0] if optional else f.type, f.default, f.opt.metavar, None, str
    names = [flag] if flag else [n for n in f.opt.flags if n.startswith("--")] or ["--" + f.name.replace("_", "-")]
    names += [n for n in f.opt.flags if not n.startswith("--")]
    if base is bool and "/" not in names[0]:  # --x/--no-x (a file's x = true undone on the line; older names kept)
        names[0] = f"{names[0]}/--no-{names[0][2:]}"
    elif get_origin(base) is tuple:  # repeatable: --hidden 512 --hidden 256 (or VECTORS...); Opt(commas): text
        base, kind = list[str if f.opt.commas else get_args(base)[0]], get_args(base)[0]
        default = default if default is inspect.Parameter.empty else list(default)
    elif get_origin(base) is Literal:
        base, choices = str, tuple(str(c) for c in get_args(base))
        metavar = metavar or "<" + "|".join(choices) + ">"
    kw = dict(help=escape(f.help), metavar=metavar, callback=_check(names[0].split("/")[0], f.opt,
                                                                      None if validates else choices, kind))
    info = typer.Argument(**kw) if f.opt.argument else typer.Option(*names, rich_help_panel=panel, **kw)
    return inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[base | None if optional else base, info])


def _settings(path: Path | None, items: list[str] | None) -> dict[str, Any]:
    """``--config`` (a TOML file) or ``--set KEY=VALUE`` items, as a dict."""
    if path is not None:
        try:
            return tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise MmweError(f"expected a TOML file of settings (key = value), got: {exc}", path=path) from None
    pairs = [item.partition("=") for item in items or []]
    if (bad := next((k for k, eq, _ in pairs if not eq), None)) is not None:
        raise MmweError(f"--set: expected KEY=VALUE, got {bad!r}; fix: e.g. --set lr=0.5")
    return {k.strip(): v.strip() for k, _, v in pairs}


def config_options(*targets: type | str, flags: dict[str, str] | None = None, skip: tuple[str, ...] = (),
                   json: str | None = None):
    """Decorate a command taking ``cfg`` and/or ``overrides: dict`` with the options of the dataclasses ``targets``
    (see the module doc). ``flags`` keeps an older option name (field -> "--flag"); ``skip`` leaves fields out;
    ``json``: the help of a ``--json`` flag, passed as ``json``."""
    classes = [config_class(t) for t in targets]
    fields = [(f, f"{c.__name__} settings", hasattr(c, "validate")) for c in classes for f in config_fields(c, skip)]
    names = {f.name for f, _, _ in fields}

    def use(ctx: typer.Context, settings: dict[str, Any], where: str, *, first: bool) -> None:
        """The settings become the options' defaults (click's default_map): an option given still wins."""
        params, given = {p.name: p for p in ctx.command.params if p.name in names}, {}
        for key, value in settings.items():
            if (name := key.replace("-", "_")) not in params:
                raise MmweError(f"{where}: expected a setting among {', '.join(params)}, got {key!r}")
            multiple = params[name].multiple and not isinstance(value, list)  # --set hidden=512,256
            given[name] = [v for v in str(value).strip("[]()").split(",") if v.strip()] if multiple else value
        ctx.default_map = {**given, **(ctx.default_map or {})} if first else {**(ctx.default_map or {}), **given}

    def from_file(ctx: typer.Context, path: Path | None) -> None:
        if path is not None:  # --set wins over the file, whatever their order on the line
            use(ctx, _settings(path, None), str(path), first=True)

    def from_set(ctx: typer.Context, items: list[str] | None) -> None:
        use(ctx, _settings(None, items), "--set", first=False)

    def eager(name: str, flag: str, annotation: Any, **kw) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            annotation, typer.Option(flag, is_eager=True, rich_help_panel=_FILES, **kw)])

    generated = [_param(f, (flags or {}).get(f.name), panel, validates) for f, panel, validates in fields] + [
        eager("config_file", "--config", Path | None, help="TOML file of settings (key = value).", callback=from_file),
        eager("set_", "--set", list[str] | None, metavar="KEY=VALUE", help="Change one setting; repeatable.",
              callback=from_set),
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)]
    generated += [inspect.Parameter("json", inspect.Parameter.KEYWORD_ONLY, default=False,
                                    annotation=Annotated[bool, typer.Option("--json", help=json)])] if json else []

    def decorate(func):
        own = inspect.signature(func, eval_str=True).parameters
        first = {f.name for f in dataclasses.fields(classes[0])} if "cfg" in own else set()

        def command(ctx: typer.Context, config_file: Path | None, set_: list[str] | None, **values):
            given = {n: tuple(v) if isinstance(v, list) else v for n, v in ((n, values.pop(n)) for n in names)}
            if "cfg" in own:  # the first config, built from its options
                values["cfg"] = classes[0](**{n: v for n, v in given.items() if n in first})
            if "overrides" in own:  # the other settings given (options at their defaults were not)
                values["overrides"] = {n: v for n, v in given.items()
                                       if n not in first and ctx.get_parameter_source(n).name != "DEFAULT"}
            return func(**values)

        mine = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own.values()
                if p.name not in ("overrides", "cfg", "json" * bool(json))]
        command.__signature__ = inspect.Signature(mine + generated)
        command.__name__, command.__doc__ = func.__name__, func.__doc__
        return command

    return decorate
