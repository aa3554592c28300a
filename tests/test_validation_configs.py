"""One validate() style: every config's ``validate()`` states its rules through the helpers of mmwe.validation
(``check``, ``check_choice``, ``check_range``) and returns self; the messages stay the ones users know."""

import ast
from pathlib import Path

import pytest

from mmwe.corpus.download import DownloadConfig
from mmwe.corpus.preprocess import PreprocessConfig, SplitConfig
from mmwe.errors import MmweError
from mmwe.experiments.mao.config import StudyConfig
from mmwe.lm.config import TrainConfig
from mmwe.maps.config import MapConfig
from mmwe.validation import check
from mmwe.vision.config import FeatureConfig

SRC = Path(__file__).resolve().parents[1] / "src" / "mmwe"


def _validate_methods():
    for f in sorted(SRC.rglob("*.py")):
        for cls in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(cls, ast.ClassDef):
                for fn in cls.body:
                    if isinstance(fn, ast.FunctionDef) and fn.name == "validate":
                        yield f"{f.relative_to(SRC)}:{cls.name}", fn


def test_check_raises_its_message_unless_ok():
    assert check(True, "never shown") is None
    with pytest.raises(MmweError, match=r"^expected k >= 1, got 0$"):
        check(False, "expected k >= 1, got 0")


def test_every_validate_uses_the_helpers_and_returns_self():
    methods = dict(_validate_methods())
    assert len(methods) >= 11, sorted(methods)
    for where, fn in methods.items():
        assert not [n for n in ast.walk(fn) if isinstance(n, ast.Raise)], f"{where}: raise by hand, use check()"
        last = fn.body[-1]
        assert isinstance(last, ast.Return) and ast.unparse(last.value) == "self", f"{where} must return self"
        assert ast.get_docstring(fn), f"{where}: no docstring"


@pytest.mark.parametrize("cfg", [PreprocessConfig(), SplitConfig(), DownloadConfig(), TrainConfig(), MapConfig(),
                                 FeatureConfig(), StudyConfig()], ids=type)
def test_defaults_validate_to_themselves(cfg):
    assert cfg.validate() is cfg


@pytest.mark.parametrize("make, message", [
    (lambda: SplitConfig(val_fraction=0.7, test_fraction=0.5),
     "expected 0 <= val, test and val + test <= 1, got val=0.7, test=0.5"),
    (lambda: PreprocessConfig(dedup_threshold=float("nan")),
     "expected dedup_threshold > 0 (above 1 disables it), got nan"),
    (lambda: DownloadConfig(timeout=0), "--timeout: expected an integer >= 1, got 0"),
    (lambda: TrainConfig(model="lstm"), "expected --model one of "),
    (lambda: TrainConfig(emb_dim=0), "expected positive sizes, got (0, "),
    (lambda: TrainConfig(proj=7), "weight sharing needs --proj equal to --emb-dim, got 7 and "),
    (lambda: StudyConfig(seeds=0), "expected --seeds >= 1, got 0; fix the option"),
    (lambda: StudyConfig(variants=("A", "Z")), "unknown variant 'Z'; expected one of "),
    (lambda: FeatureConfig(limit=-1), "expected --limit >= 0, got -1"),
    (lambda: MapConfig(loss="infonce", batch_size=1), "expected batch_size >= 2 for the infonce loss"),
    (lambda: MapConfig(model="nn", hidden=()), "expected 1 to 5 hidden layers for model 'nn', got 0"),
])
def test_messages_are_the_known_ones(make, message):
    with pytest.raises(MmweError) as err:
        make().validate()
    assert str(err.value).startswith(message)
