"""mmwe.config: `config_fields` reads a config dataclass (by import) as the CLI offers it."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest

from mmwe.config import config_fields

TARGETS = ["mmwe.lm.config:TrainConfig", "mmwe.maps.config:MapConfig", "mmwe.vision.config:FeatureConfig",
           "mmwe.corpus.preprocess:PreprocessConfig", "mmwe.experiments.config:CollellRun",
           "mmwe.experiments.mao.config:MaoRun", "mmwe.experiments.config:DemoConfig",
           "mmwe.datasets.triplets:MineConfig"]


@pytest.mark.parametrize("target", TARGETS)
def test_fields_read_from_source_match_the_dataclass(target):
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    fields = config_fields(target)
    missing = (dataclasses.MISSING, inspect.Parameter.empty)
    assert [(f.name, f.default) for f in fields if f.default not in missing] == [
        (f.name, f.default) for f in dataclasses.fields(cls) if f.init and f.default not in missing]
    assert [f.name for f in fields] == [f.name for f in dataclasses.fields(cls) if f.init]
    assert all(f.help for f in fields)  # every field carries its comment
