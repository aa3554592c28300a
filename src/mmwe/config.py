"""How a field of a config dataclass is offered on the command line: ``Annotated[int, Opt("-k", min=1)]``.

Configs are dataclasses in torch-free modules, one field a setting, its trailing ``# comment`` its help;
``mmwe.cli.options`` turns each field into an option. ``Opt`` changes what it would guess; the library ignores it.
"""

from __future__ import annotations


class Opt:
    """``flags``: a short alias alone ("-k") is added to ``--field-name``, a long flag ("--from") replaces it;
    ``min``: the smallest integer accepted; ``argument``: positional (a tuple field takes several: ``VECTORS...``);
    ``out``: an output path (its folder is made and the output locked when the option is read)."""

    def __init__(self, *flags: str, min: int | None = None, argument: bool = False, metavar: str | None = None,
                 out: bool = False) -> None:
        self.flags, self.min, self.argument, self.metavar, self.out = flags, min, argument, metavar, out

    def __repr__(self) -> str:
        return f"Opt{self.flags!r}" + "".join(f", {k}={v!r}" for k, v in vars(self).items() if k != "flags" and v)


ARG = Opt(argument=True)  # a positional argument
