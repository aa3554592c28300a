"""`mmwe vectors ...` (placeholder until the vectors area lands)."""
import typer

from mmwe.cli import app

vectors_app = typer.Typer(help="Read, convert and inspect word-vector files.", no_args_is_help=True)
app.add_typer(vectors_app, name="vectors")


@vectors_app.command("info")
def info(path: str) -> None:
    """Print the size and format of a vector file."""
    raise NotImplementedError
