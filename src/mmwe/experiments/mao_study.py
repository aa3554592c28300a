"""The old name of the seeded Mao study, kept for the callers that import it (`mmwe reproduce mao`, benchmarks):
the study is part of the one Mao experiment, `mmwe.experiments.mao`."""

from mmwe.experiments.mao import (  # noqa: F401
    ALL_SOURCES,
    StudyConfig,
    builtin_names,
    markdown,
    parse_floats,
    prepare_builtin,
    reproduce_mao,
    run_study,
    subset_corpus,
    test_split_triplets,
)
