"""mmwe.vision.features: images -> features with skips counted by reason, binarisation, tar shards at any thread
count."""

from __future__ import annotations

import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.vision import FeatureConfig, binarize, extract_images, load_image, to_model_input
from tests.conftest import noise_png


def test_extract_images_counts_skips(onnx_ext, openmoji, bomb_png, tmp_path):
    trunc = tmp_path / "t.png"
    trunc.write_bytes(noise_png(tmp_path / "g.png").read_bytes()[:200])
    items = [("abacus", str(openmoji / "1F9EE.svg")), ("bomb", str(bomb_png)), ("trunc", str(trunc)),
             ("junk", str(tmp_path / "nothing.jpg")), ("url", None), ("umbrella", str(openmoji / "2602.svg"))]
    done = []
    run = extract_images(items, onnx_ext, FeatureConfig(batch_size=2), progress=lambda *a: done.append(a))
    assert run.keys == ["abacus", "umbrella"]
    assert run.matrix.shape == (2, 1280)
    assert run.skipped == Counter(too_many_pixels=1, truncated=1, missing_file=1, no_image_path=1)
    assert done == [(2, None, "image features"), (4, None, "image features"), (6, None, "image features")]
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
