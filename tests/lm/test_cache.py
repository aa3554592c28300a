"""The one training-data path (mmwe.lm.cache): the token cache holds exactly the examples, vocabulary and target
counts of a slow reference that reads the corpus sentence by sentence (the in-memory encoder of earlier versions,
kept here as the oracle), in memory and out of core, with the corpus's val split or a held-out one, --max-len,
records without a split, and without token_counts.tsv; the vocabulary is the corpus's (`mmwe corpus vocab`);
``min_count`` None is the manifest's; a read-only corpus keeps its cache in the temporary folder."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmwe.corpus import corpus_vocabulary, iter_records
from mmwe.corpus.store import write_token_counts
from mmwe.corpus.tokenize import Vocabulary, tokenize
from mmwe.errors import MmweError
from mmwe.lm.cache import cache_dir, load_dataset
from mmwe.vision.store import load_features
from tests.conftest import run_cli
from tests.conftest import tiny_corpus as make_corpus
from tests.lm.test_train import small


def recount(corpus: Path) -> Path:
    """token_counts.tsv of the corpus's shards, as `mmwe corpus build` writes it (train split, all splits)."""
    train, total = Counter(), Counter()
    for r in iter_records(corpus):
        words = " ".join(r.sentences).split()
        total.update(words)
        if r.split == "train":
            train.update(words)
    write_token_counts(corpus / "token_counts.tsv", train, total)
    return corpus


def no_val_corpus(d: Path) -> Path:
    """A corpus without a val split (validation is held out by seed) plus test-split records that are ignored."""
    c = make_corpus(d)
    f = c / "shards" / "part-00000.parquet"
    t = pq.read_table(f).to_pydict()
    t["split"] = ["test" if i % 10 == 3 else "train" for i in range(len(t["image"]))]
    t["sentences"][5] = ["", *t["sentences"][5]]  # a sentence with no word: skipped as empty
    pq.write_table(pa.table(t), f)
    return recount(c)


# -- the oracle: every record read, every sentence tokenised and counted, nothing cached ----------------------
def reference(corpus: Path, features: Path | None, cfg) -> dict:
    recs = [(r.image, list(r.sentences), r.split) for r in iter_records(corpus)]
    train = [r for r in recs if r[2] in (None, "train")]
    val = [r for r in recs if r[2] == "val"]
    source = "corpus"
    if not val:
        n_val = max(1, int(round(cfg.val_fraction * len(train))))
        held = set(np.random.default_rng(cfg.seed).permutation(len(train))[:n_val].tolist())
        train, val = [r for i, r in enumerate(train) if i not in held], [r for i, r in enumerate(train) if i in held]
        source = f"held out {n_val} train images"
    counts = Counter(w for _, sents, _ in train for s in sents for w in tokenize(s)[:cfg.max_len])
    vocab = Vocabulary.build(counts, cfg.min_count)
    key_row = None
    if cfg.model != "puretext":
        keys, _ = load_features(features or corpus / "features" / "efficientnet-lite0.npy")
        key_row = {k: i for i, k in enumerate(keys)}

    def encode(records, skipped):
        toks, lens, imgs = [], [], []
        for image, sentences, _ in records:
            row = -1 if key_row is None else key_row.get(image, -1)
            for s in sentences:
                words = tokenize(s)[:cfg.max_len]
                if not words:
                    skipped["empty_sentence"] += 1
                elif key_row is not None and row < 0:
                    skipped["no_features"] += 1
                else:
                    toks += vocab.encode(words)
                    lens.append(len(words))
                    imgs.append(row)
        return {"tokens": toks, "lengths": lens, "image": imgs, "offsets": np.r_[0, np.cumsum(lens)].tolist()}

    skipped = Counter()
    tr, va = encode(train, skipped), encode(val, Counter())
    target = np.bincount(tr["tokens"], minlength=len(vocab))
    target[Vocabulary.eos_id] += len(tr["lengths"])
    stats = {"train_examples": len(tr["lengths"]), "val_examples": len(va["lengths"]), "skipped": dict(skipped),
             "val_source": source, "vocab_size": len(vocab),
             "tokens_per_epoch": sum(tr["lengths"]) + len(tr["lengths"])}
    return {"vocab": vocab, "train": tr, "val": va, "target_counts": target, "stats": stats}


def same(data, ref) -> None:
    assert data.vocab.itos == ref["vocab"].itos and data.vocab.counts == ref["vocab"].counts
    for part in ("train", "val"):
        ex = getattr(data, part)
        for name in ("tokens", "offsets", "image", "lengths"):
            assert np.asarray(getattr(ex, name)).tolist() == ref[part][name], (part, name)
    assert np.array_equal(data.target_counts, ref["target_counts"])
    assert {k: v for k, v in data.stats.items() if k not in ("cache", "feature_store")} == ref["stats"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """40 images (every 8th in the corpus's val split); the last 10 without features."""
    return recount(make_corpus(tmp_path_factory.mktemp("cache") / "c", featured=30))


def no_split_corpus(d: Path) -> Path:
    """Some train records without a split (trained on; not in the train counts of token_counts.tsv)."""
    c = make_corpus(d, featured=30)
    f = c / "shards" / "part-00000.parquet"
    t = pq.read_table(f).to_pydict()
    t["split"] = [None if i % 3 == 1 and s == "train" else s for i, s in enumerate(t["split"])]
    pq.write_table(pa.table(t), f)
    return recount(c)


@pytest.mark.parametrize("memmap", [False, True])
@pytest.mark.parametrize("model", ["puretext", "A"])
@pytest.mark.parametrize("which", ["val_split", "held_out", "max_len", "no_split", "no_counts"])
def test_cache_holds_exactly_the_reference_examples(corpus, tmp_path, model, which, memmap):
    c = {"held_out": no_val_corpus, "no_split": no_split_corpus,  # no_counts: counted from the shards
         "no_counts": lambda d: make_corpus(d, featured=30)}.get(which, lambda d: corpus)(tmp_path / "c")
    assert (c / "token_counts.tsv").is_file() == (which != "no_counts")
    cfg = small(model=model, val_fraction=0.2, seed=3, memmap=memmap, feature_store="float32",
                max_len=3 if which == "max_len" else None, min_count=20)  # near the counts (21-36): some go
    data, ref = load_dataset(c, None, cfg), reference(c, None, cfg)
    same(data, ref)
    assert len(data.vocab) < len(Vocabulary.build(Counter(w for r in iter_records(c) for s in r.sentences
                                                          for w in s.split()), 1))
    if model == "A":
        feats = load_features(c / "features" / "efficientnet-lite0.npy")[1]
        assert np.array_equal(data.features[np.arange(len(feats))], feats)
    else:
        assert data.features is None


def test_real_corpus_vocabulary_is_the_corpus_vocab_command(tmp_path):
    """Real data (OpenMoji CLDR captions, built by `mmwe corpus build`): the trainer's vocabulary with min_count
    None is `mmwe corpus vocab`'s, and every array equals the reference's."""
    from mmwe.corpus.build import build_corpus

    c = tmp_path / "om"
    manifest = build_corpus(["openmoji"], c)
    cfg = small(model="puretext", min_count=None)
    data = load_dataset(c, None, cfg)
    assert data.vocab.itos == corpus_vocabulary(c).itos
    assert len(data.vocab) - 4 == manifest["counts"]["vocabulary"]["words"] > 500
    same(data, reference(c, None, dataclasses.replace(cfg, min_count=manifest["preprocess"]["min_count"])))
    assert run_cli(["corpus", "vocab", str(c), "--out", str(tmp_path / "v.tsv")]) == 0
    assert Vocabulary.load(tmp_path / "v.tsv").itos == data.vocab.itos


def test_min_count_none_is_the_manifests_and_is_recorded(corpus, tmp_path):
    from mmwe.lm import train_lm

    c = recount(make_corpus(tmp_path / "c"))
    with pytest.raises(MmweError, match="preprocess.min_count"):
        load_dataset(c, None, small(model="puretext", min_count=None))
    m = json.loads((c / "manifest.json").read_text())
    (c / "manifest.json").write_text(json.dumps(m | {"preprocess": {"min_count": 2}}))
    cfg = small(model="puretext", min_count=None, max_steps=1)
    assert cache_dir(c, None, cfg) == cache_dir(c, None, dataclasses.replace(cfg, min_count=2))
    two = load_dataset(c, None, dataclasses.replace(cfg, min_count=2))
    assert load_dataset(c, None, cfg).vocab.itos == two.vocab.itos
    train_lm(c, None, cfg, tmp_path / "r")
    assert json.loads((tmp_path / "r" / "config.json").read_text())["config"]["min_count"] == 2


@pytest.mark.parametrize("how", [["--min-count", "28"], ["--set", "min_count=28"]])
def test_cli_min_count_overrides_the_corpus(corpus, tmp_path, how):
    args = ["train", str(corpus), "--model", "puretext", "--emb-dim", "8", "--proj", "8", "--hidden", "8",
            "--negatives", "5", "--max-steps", "1", "--threads", "1", "--device", "cpu", "--json", *how]
    assert len(load_dataset(corpus, None, small(model="puretext", min_count=28)).vocab) < 24  # some words go
    assert run_cli([*args, "--out", str(tmp_path / "r")]) == 0
    info = json.loads((tmp_path / "r" / "config.json").read_text())
    assert info["config"]["min_count"] == 28
    assert info["data"]["vocab_size"] == len(load_dataset(corpus, None, small(model="puretext", min_count=28)).vocab)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes read-only folders")
def test_read_only_corpus_keeps_its_cache_in_the_temporary_folder(tmp_path):
    c = recount(make_corpus(tmp_path / "c"))
    cfg = small(model="puretext")
    want = reference(c, None, cfg)
    os.chmod(c, 0o555)
    folder = None
    try:
        folder = cache_dir(c, None, cfg)
        assert not folder.is_relative_to(c)
        same(load_dataset(c, None, cfg), want)
        assert (folder / "meta.json").is_file() and not (c / "cache").exists()
    finally:
        os.chmod(c, 0o755)
        if folder is not None and not folder.is_relative_to(c):
            shutil.rmtree(folder.parent, ignore_errors=True)
