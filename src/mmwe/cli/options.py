"""Options declared once: generated from config dataclasses; plus ``--out`` and the integer range check.

``@config_options("mmwe.maps:MapConfig")`` gives a command one option per field: ``--kebab-name``, the field's
default, a type from its annotation (bool: ``--x/--no-x``; ``tuple[int, ...]``: repeatable; ``Literal``: its
choices, checked by the config's ``validate()``) and the field's trailing ``# comment`` as help (continued by
comment-only lines right below it); plus
``--config run.toml`` (keys = field names) and ``--set key=value``, which set the options' defaults. The command
gets ``overrides``, the settings given (file < --set < option): ``dataclasses.replace(Config(), **overrides)``.
Fields are read from the source with ``ast``, not imported: configs live beside torch code, and ``--help`` and
input errors must not wait for torch.
"""

from __future__ import annotations

import ast
import inspect
import io
import tokenize
import tomllib
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import typer
from rich.markup import escape

import mmwe
from mmwe.errors import MmweError
from mmwe.fileio import lock_output

_NAMES = {"int": int, "float": float, "str": str, "bool": bool, "tuple": tuple, "Literal": Literal, "None": None}
_FILES = "Settings from a file or KEY=VALUE"


@dataclass(frozen=True)
class ConfigField:
    name: str
    type: Any  # the evaluated annotation: int, str | None, tuple[int, ...], Literal["a", "b"], ...
    default: Any
    help: str  # the field's trailing comment


def _source(module: str) -> str:
    path = Path(mmwe.__file__).parent.joinpath(*module.split(".")[1:])
    return (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text("utf-8")


def _lookup(name: str, tree: ast.Module) -> ast.expr:
    """What a module-level name is assigned, in ``tree`` or in the mmwe module it is imported from."""
    for s in tree.body:
        if isinstance(s, ast.ImportFrom) and any(a.name == name and not a.asname for a in s.names):
            return _lookup(name, ast.parse(_source(s.module)))
        if name in [getattr(t, "id", None) for t in getattr(s, "targets", [getattr(s, "target", None)])]:
            return s.value
    raise KeyError(name)


def _type(node: ast.expr, tree: ast.Module) -> Any:
    if isinstance(node, ast.Name):
        return _NAMES[node.id] if node.id in _NAMES else _type(_lookup(node.id, tree), tree)  # a type alias
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _type(node.left, tree) | _type(node.right, tree)
    if isinstance(node, ast.Subscript):
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return _type(node.value, tree)[tuple(_type(a, tree) for a in args)]
    raise TypeError(f"unsupported annotation {ast.unparse(node)!r}")


def _value(node: ast.expr, tree: ast.Module) -> Any:
    return _value(_lookup(node.id, tree), tree) if isinstance(node, ast.Name) else ast.literal_eval(node)


def config_fields(target: str, skip: tuple[str, ...] = ()) -> list[ConfigField]:
    """The fields of dataclass ``target`` ("mmwe.module:Class"), read from its source file, less ``skip``."""
    module, _, name = target.partition(":")
    code = _source(module)
    tree = ast.parse(code)
    comments = {t.start[0]: (t.string.lstrip("#").strip(), t.line.lstrip().startswith("#"))
                for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT}

    def help_of(line: int) -> str:  # the trailing comment, continued by comment-only lines right below it
        text, line = [comments[line][0]] if line in comments else [], line + 1
        while text and comments.get(line, ("", False))[1]:
            text, line = text + [comments[line][0]], line + 1
        return " ".join(text)

    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    return [ConfigField(n.target.id, _type(n.annotation, tree), _value(n.value, tree), help_of(n.end_lineno))
            for n in cls.body if isinstance(n, ast.AnnAssign) and n.value is not None and n.target.id not in skip]


def _option(f: ConfigField, flag: str | None, panel: str) -> inspect.Parameter:
    args = [a for a in get_args(f.type) if a is not type(None)]
    optional = get_origin(f.type) in (Union, types.UnionType) and len(args) == 1
    base, default, metavar = args[0] if optional else f.type, f.default, None
    flag = flag or "--" + f.name.replace("_", "-")
    if base is bool:
        flag = f"{flag}/--no-{flag[2:]}"
    elif get_origin(base) is tuple:  # repeatable: --hidden 512 --hidden 256
        base, default = list[get_args(base)[0]], list(default)
    elif get_origin(base) is Literal:
        base, metavar = str, "<" + "|".join(get_args(base)) + ">"
    info = typer.Option(flag, help=escape(f.help), rich_help_panel=panel, metavar=metavar)
    return inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[base | None if optional else base, info])


def _read_settings(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MmweError(f"expected a TOML file of settings (key = value), got: {exc}", path=path) from None


def _split_settings(items: list[str]) -> dict[str, str]:
    pairs = [item.partition("=") for item in items]
    bad = next((k for k, eq, _ in pairs if not eq), None)
    if bad is not None:
        raise MmweError(f"--set: expected KEY=VALUE, got {bad!r}; fix: e.g. --set lr=0.5")
    return {k.strip(): v.strip() for k, _, v in pairs}


def config_options(*targets: str, flags: dict[str, str] | None = None, skip: tuple[str, ...] = ()):
    """Decorate a command taking ``overrides: dict`` with the options of the dataclasses ``targets`` (see the
    module doc). ``flags`` keeps an older option name (field -> "--flag"); ``skip`` leaves fields out."""
    fields = [(f, f"{t.partition(':')[2]} settings") for t in targets for f in config_fields(t, skip)]

    def use(ctx: typer.Context, settings: dict[str, Any], where: str, *, first: bool) -> None:
        """The settings become the options' defaults (click's default_map): an option given still wins."""
        params = {p.name: p for p in ctx.command.params if p.name in {f.name for f, _ in fields}}
        given = {}
        for key, value in settings.items():
            name = key.replace("-", "_")
            if name not in params:
                raise MmweError(f"{where}: expected a setting among {', '.join(params)}, got {key!r}")
            multiple = params[name].multiple and not isinstance(value, list)  # --set hidden=512,256
            given[name] = [v for v in str(value).strip("[]()").split(",") if v.strip()] if multiple else value
        ctx.default_map = {**given, **(ctx.default_map or {})} if first else {**(ctx.default_map or {}), **given}

    def from_file(ctx: typer.Context, path: Path | None) -> None:
        if path is not None:  # --set wins over the file, whatever their order on the line
            use(ctx, _read_settings(path), str(path), first=True)

    def from_set(ctx: typer.Context, items: list[str] | None) -> None:
        use(ctx, _split_settings(items or []), "--set", first=False)

    kw = inspect.Parameter.KEYWORD_ONLY
    generated = [_option(f, (flags or {}).get(f.name), panel) for f, panel in fields] + [
        inspect.Parameter("config_file", kw, default=None, annotation=Annotated[Path | None, typer.Option(
            "--config", help="TOML file of settings (key = value).", is_eager=True, callback=from_file,
            rich_help_panel=_FILES)]),
        inspect.Parameter("set_", kw, default=None, annotation=Annotated[list[str] | None, typer.Option(
            "--set", metavar="KEY=VALUE", help="Change one setting; repeatable.", is_eager=True, callback=from_set,
            rich_help_panel=_FILES)]),
        inspect.Parameter("ctx", kw, annotation=typer.Context)]

    def decorate(func):
        def command(ctx: typer.Context, config_file: Path | None, set_: list[str] | None, **values):
            given = {f.name: values.pop(f.name) for f, _ in fields}  # options at their defaults were not given
            overrides = {n: tuple(v) if isinstance(v, list) else v for n, v in given.items()
                         if ctx.get_parameter_source(n).name != "DEFAULT"}
            return func(**values, overrides=overrides)

        own = inspect.signature(func, eval_str=True).parameters.values()
        own = [p.replace(kind=kw) for p in own if p.name != "overrides"]
        command.__signature__ = inspect.Signature(own + generated)
        command.__name__, command.__doc__ = func.__name__, func.__doc__
        return command

    return decorate


def _make_parent(value: Any) -> Any:
    if value is not None:
        try:
            Path(value).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MmweError(f"--out: cannot create the folder {Path(value).parent} ({exc.strerror or exc}); fix: "
                            "choose another --out", path=value) from None
        lock_output(value)  # a second run writing it refuses, naming this one (released when `main` returns)
    return value


def out_option(help: str) -> Any:
    """``--out``: its missing parent folders are created (mkdir -p) and the output locked as soon as it is read."""
    return typer.Option("--out", help=help, callback=_make_parent)


def unicode_errors_option() -> Any:
    """``--unicode-errors``, for commands that read word vectors (``mmwe.vectors.load(..., unicode_errors=)``)."""
    return typer.Option("--unicode-errors", metavar="<strict|replace|ignore>", help="Words in a vector file that are "
                        "not UTF-8: strict (an error naming the line), replace (U+FFFD, as gensim) or ignore (drop).",
                        callback=lambda v: one_of("--unicode-errors", v, ("strict", "replace", "ignore")) or v)


def at_least(flag: str, value: int | None, low: int) -> None:
    """A one-line error for an integer option below its minimum (typer's usage errors take several lines)."""
    if value is not None and value < low:
        raise MmweError(f"{flag}: expected an integer >= {low}, got {value}")


def one_of(flag: str, value: str, choices: tuple[str, ...]) -> None:
    """A one-line error for a string option outside its choices."""
    if value not in choices:
        raise MmweError(f"{flag}: expected {', '.join(choices[:-1])} or {choices[-1]}, got {value!r}")
