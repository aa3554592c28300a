"""IAPR TC-12 as published with Collell & Moens' code (Apache-2.0): the test split, 1,962 rows, 64-d biGRU text
vectors and 128-d VGG image vectors paired by row; each row's first column is its space-separated label ids.

The data is not shipped: point ``data_dir`` at the folder holding the two CSVs (e.g. ``../shared/data/iaprtc12``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmwe.datasets import PairedData
from mmwe.datasets.paired import read_label_csv
from mmwe.errors import MmweError

FILES = {"text": "TS_lang_biGRU.csv", "image": "TS_vis_vgg128.csv"}


def iapr_paths(data_dir: str | os.PathLike | None) -> dict[str, Path]:
    """The two IAPR TC-12 CSVs in ``data_dir`` or in ``data_dir/iaprtc12``."""
    if data_dir is None:
        raise MmweError("expected --data-dir for iaprtc12 (the folder with TS_lang_biGRU.csv and "
                        "TS_vis_vgg128.csv), got none; fix: e.g. --data-dir ../shared/data/iaprtc12")
    base = Path(data_dir)
    for d in (base, base / "iaprtc12"):
        paths = {k: d / v for k, v in FILES.items()}
        if all(p.is_file() for p in paths.values()):
            return paths
    raise MmweError(f"expected {FILES['text']} and {FILES['image']} in this folder, got "
                    "neither; fix: point --data-dir at the authors' training_data/iaprtc folder", path=base)


def load_iaprtc12(data_dir: str | os.PathLike | None) -> PairedData:
    """IAPR TC-12 test split of the authors: 64-d biGRU text and 128-d VGG image vectors, paired by row."""
    paths = iapr_paths(data_dir)
    lab_t, text = read_label_csv(paths["text"])
    lab_i, image = read_label_csv(paths["image"])
    if len(lab_t) != len(lab_i):
        raise MmweError(f"expected the same number of rows in both files, got {len(lab_t)} text and "
                        f"{len(lab_i)} image rows", path=paths["image"])
    for r, (a, b) in enumerate(zip(lab_t, lab_i), start=1):
        if a != b:
            raise MmweError(f"expected row {r} to carry the same labels as the text file, got {b!r} vs {a!r}",
                            path=paths["image"], line=r)
    labels = [frozenset(int(t) for t in s.split()) for s in lab_t]
    info = {"n": len(labels), "text": str(paths["text"]), "image": str(paths["image"]),
            "rows_without_labels": sum(not s for s in labels)}
    return PairedData("iaprtc12", np.asarray(image, np.float32), np.asarray(text, np.float32), "vgg128",
                      labels=labels, info=info)


def iapr_item_names(labels: Sequence[Sequence[int]]) -> list[str]:
    """Default IAPR TC-12 item names: the row number and its label ids (the data ships no label words)."""
    return [f"#{i + 1}: " + (" ".join(str(t) for t in sorted(ls)) or "(no labels)") for i, ls in enumerate(labels)]


