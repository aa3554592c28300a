"""Where the demo's visual words come from: ``words_corpus`` is a corpus spec, built once under OUT/corpora/ by
`mmwe.corpus.ensure`, and every visual-word run gets that folder. The runs themselves are recorded, not run (the
full demo is `make demo`; the Collell runs are tested in test_demo.py)."""

from __future__ import annotations

from mmwe.corpus.readers import READERS, ReaderSpec
from mmwe.corpus.record import RawRecord
from mmwe.experiments import demo as D


def test_words_corpus_spec_is_built_once_under_out(tmp_path, monkeypatch):
    reads = []

    def read(source, opts, tally):
        reads.append(source)
        for i in range(12):
            yield RawRecord(f"tiny:{i}", None, [f"word{i % 4} word{(i + 1) % 4} tiny {i}"])

    monkeypatch.setitem(READERS, "tiny", ReaderSpec("tiny", read, lambda p: False, "test", builtin=True,
                                                    preprocess_defaults={"min_words": 1, "min_count": 1}))
    given: dict[str, object] = {}
    monkeypatch.setattr(D.collell, "run", lambda cfg, progress, log: cfg)
    monkeypatch.setattr(D.collell, "save", lambda cfg, out: given.__setitem__(out.name, cfg.corpus))
    monkeypatch.setattr(D.imagined, "run", lambda cfg, progress, log: cfg)
    monkeypatch.setattr(D.imagined, "save", lambda cfg, out: given.__setitem__(out.name, cfg.corpus))
    cfg = D.DemoConfig(out=str(tmp_path / "demo"), words_corpus="tiny", skip_mao=True,
                       iapr_dir=str(tmp_path / "no-iapr"))
    logs: list[str] = []
    runs = D.run(cfg, log=logs.append)
    folder = tmp_path / "demo" / "corpora" / "tiny"
    assert (folder / "manifest.json").is_file() and len(reads) == 1
    assert f"[demo] building the corpus tiny in {folder}" in logs
    assert [r.name for r in runs] == ["collell-exp1-imagenet", "collell-exp1-iaprtc12", "collell-exp1-words",
                                      "collell-exp2", "collell-imagined"]
    assert given == {"collell-exp1-imagenet": None, "collell-exp1-iaprtc12": None, "collell-exp1-words": str(folder),
                     "collell-exp2": str(folder), "collell-imagined": str(folder)}
    D.run(cfg, log=logs.append)
    assert len(reads) == 1  # the second demo reuses the corpus
