"""mmwe.vision.images: safe image loading (SVG sanitising and rasterising, pixel limits before decoding,
truncated and corrupt files, tar members) and the 224 x 224 model input."""

from __future__ import annotations

import base64
import tarfile

import numpy as np
import pytest
from PIL import Image

from mmwe.vision import (
    ImageError,
    load_image,
    sanitize_svg,
    to_model_input,
)
from tests.conftest import noise_png, png_bytes


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
    red.write_bytes(png_bytes(color=(255, 0, 0)))
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
    p = noise_png(tmp_path / "n.png", 100)
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: (_ for _ in ()).throw(AssertionError("decoded")))
    with pytest.raises(ImageError, match="100 x 100 = 10000 pixels, limit 5000"):
        load_image(p, max_pixels=5000)


def test_truncated_and_corrupt_images(tmp_path):
    good = noise_png(tmp_path / "good.png")
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
        tf.add(noise_png(tmp_path / "x.png"), arcname="imgs/x.png")
        tf.add(openmoji / "2602.svg", arcname="imgs/u.svg")
    assert load_image(f"{tar}::imgs/x.png").size == (64, 64)
    assert load_image(f"{tar}::imgs/u.svg").size == (224, 224)
    with pytest.raises(ImageError, match="no member"):
        load_image(f"{tar}::imgs/none.png")


def test_svg_with_absolute_root_size_renders(tmp_path, openmoji):
    """resvg_py refuses width="150pt" on the root <svg>: the size is rewritten in px first (openclipart uses pt)."""
    svg = (openmoji / "2602.svg").read_text(encoding="utf-8")
    svg = svg.replace("<svg ", '<svg width="54pt" height="0.75in" ', 1)
    (tmp_path / "u.svg").write_text(svg, encoding="utf-8")
    im = load_image(tmp_path / "u.svg")
    assert im.size == (224, 224) and np.asarray(im).std() > 10  # drawn, not blank
