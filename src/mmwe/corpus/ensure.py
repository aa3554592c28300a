"""A corpus from a spec, built once: the one name parser and the one cache layout of built-in corpora.

A spec is a corpus folder (``mmwe corpus build``), a built-in corpus name (``"openmoji"``), built-in names joined
by "+" (``"openmoji+gemojione"``, built as one corpus in that order) or ``"all"`` (every built-in, in `ALL`'s
order). `ensure` returns the folder itself for a folder, else ``ROOT/<names joined by "+">`` (``"all"``:
``ROOT/openmoji+openclipart+gemojione+art4apps+tuxpaint``), built there when missing. A corpus already there is
reused when its manifest records the same sources, readers, pre-processing, split and read options as the build
would use (and its shards are all present); otherwise it is built again in place. `build_corpus` writes beside the
output and renames at the end, so a half-built corpus never has a manifest (an interrupted build resumes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from mmwe.corpus.build import BuildConfig, build_corpus, default_configs, resolve_sources
from mmwe.corpus.readers import READERS
from mmwe.corpus.store import FORMAT, VERSION
from mmwe.errors import MmweError
from mmwe.progress import Progress
from mmwe.progress import part as progress_part

# every built-in corpus, in the order "all" builds them (the order sets which of two equal images is kept)
ALL = ("openmoji", "openclipart", "gemojione", "art4apps", "tuxpaint")


@dataclass(frozen=True)
class CorpusSpec:
    """A parsed spec: a corpus folder, or the built-in corpus names to build (in order)."""

    folder: Path | None  # the corpus folder given, or None for built-in names
    names: tuple[str, ...] = ()  # the built-in corpora, in build order ("all" expanded)

    @property
    def name(self) -> str:
        """The folder's name, or the built-in names joined by "+" (the cache folder's name)."""
        return self.folder.name if self.folder is not None else "+".join(self.names)


def builtin_corpora() -> list[str]:
    """The registered built-in corpus names, sorted."""
    return sorted(name for name, spec in READERS.items() if spec.builtin)


def parse_spec(spec: str | Path) -> CorpusSpec:
    """The one parser of a corpus spec: an existing path is a corpus folder (it must hold manifest.json), else
    "all" or built-in names joined by "+"; MmweError for anything else (before any work)."""
    p = Path(spec)
    if p.exists():
        if not (p / "manifest.json").is_file():
            raise MmweError("expected a corpus folder (with manifest.json), got a folder without one; fix: build it "
                            "with `mmwe corpus build SOURCE... --out DIR`", path=p)
        return CorpusSpec(p)
    text = str(spec)
    names = ALL if text.strip() == "all" else tuple(n.strip() for n in text.split("+") if n.strip())
    known = builtin_corpora()
    bad = [n for n in names if n not in known]
    if bad or not names:
        why = f"unknown name {bad[0]!r}" if bad else "no name"
        raise MmweError(f"--corpus: expected a corpus folder, 'all' or built-in names joined by '+' "
                        f"({', '.join(ALL)}), got {text!r} (no such folder, {why}); fix: e.g. --corpus openmoji or "
                        "--corpus runs/corpora/all")
    return CorpusSpec(None, names)


def corpus_path(spec: str | Path | CorpusSpec, root: str | Path) -> Path:
    """Where `ensure` finds (or builds) the corpus of ``spec``, without building anything."""
    s = spec if isinstance(spec, CorpusSpec) else parse_spec(spec)
    return s.folder if s.folder is not None else Path(root) / s.name


def build_settings(names: tuple[str, ...], cfg: BuildConfig | None = None) -> dict:
    """What the manifest of ``names`` built under ``cfg`` records about how it was made (the reuse check)."""
    cfg = cfg or BuildConfig()
    pairs = resolve_sources(list(names), cfg.reader)
    pre, spl = default_configs([s for _, s in pairs])
    return json.loads(json.dumps({
        "format": FORMAT, "version": VERSION,
        "sources": [{"source": n, "reader": s.name} for n, s in pairs],
        "preprocess": (cfg.preprocess or pre).as_dict(), "split_config": (cfg.split or spl).as_dict(),
        "read_options": cfg.read.as_dict()}))


def stale_reason(folder: Path, settings: dict) -> str | None:
    """Why the corpus in ``folder`` cannot be reused for ``settings`` (None: it can)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        differ = [k for k, v in settings.items() if manifest.get(k) != v]
        missing = [s["file"] for s in manifest.get("shards", []) if not (folder / s["file"]).is_file()]
    except FileNotFoundError:
        return "not built yet"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"unreadable manifest ({type(exc).__name__})"
    if differ:
        return "built with other settings (" + ", ".join(differ) + ")"
    return f"shard {missing[0]} missing" if missing else None


def ensure(spec: str | Path | CorpusSpec, root: str | Path, *, cfg: BuildConfig | None = None,
           log: Callable[[str], None] | None = None, progress: Progress | None = None) -> Path:
    """The corpus folder of ``spec``: the folder itself, or the built-in corpora built (once) in ``root``.

    ``cfg`` changes the build (default: the readers' defaults); a corpus built otherwise is rebuilt in place.
    ``log`` hears one line when a build starts; ``progress(done, None, what)`` counts the records read.
    """
    s = spec if isinstance(spec, CorpusSpec) else parse_spec(spec)
    if s.folder is not None:
        return s.folder
    out = Path(root) / s.name
    why = stale_reason(out, build_settings(s.names, cfg))
    if why is None:
        return out
    if log is not None:
        log(f"building the corpus {s.name} in {out}" + ("" if why == "not built yet" else f" again: {why}"))
    out.parent.mkdir(parents=True, exist_ok=True)
    build_corpus(list(s.names), out, replace(cfg or BuildConfig(), overwrite=True),
                 progress=progress_part(progress, what=f"reading the {s.name} corpus"))
    return out
