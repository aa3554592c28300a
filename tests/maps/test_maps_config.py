"""mmwe.maps.config: the Collell & Moens preset."""

from __future__ import annotations

from mmwe.maps import MapConfig


def test_collell_preset():
    cfg = MapConfig.collell("lin", direction="i2t")
    assert (cfg.lr, cfg.batch_size, cfg.epochs, cfg.val_fraction, cfg.hidden) == (1e-4, 128, 50, 0.0, (512,))
    assert MapConfig.collell("nn", visual="resnet").hidden == (1024,)
