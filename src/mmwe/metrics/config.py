"""Settings of the evaluation commands (``eval-words``, ``eval-analogies``, ``eval-triplets``, ``mnno``), torch- and
scipy-free: the CLI builds their options from these dataclasses (one option a field, its comment the help; see
``mmwe.config.Opt``) and the library functions take them (``word_similarity``, ``analogy_rows``,
``triplet_rows``, ``mnno_inputs`` / ``mnno_result``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from mmwe.config import ARG, Opt
from mmwe.devices import Device
from mmwe.metrics.alignment_kernels import Kernel
from mmwe.neighbors import Backend, Precision, Ties
from mmwe.vectors import Vectors, load
from mmwe.vectors.common import UnicodeErrors

Similarity = Literal["cosine", "euclidean"]  # word similarity, and the neighbour metrics of mnno
Method = Literal["3cosadd", "3cosmul"]  # analogy scoring (gensim's most_similar / most_similar_cosmul)
METHODS = get_args(Method)


@dataclass(frozen=True, kw_only=True)
class VectorSets:
    """Word-vector sets to score side by side (the first is the reference of the p-values)."""

    vectors: Annotated[tuple[str, ...], ARG]  # Vector files or built-in names (e.g. glove-6b-50d).
    unicode_errors: UnicodeErrors = "strict"  # Words in a vector file that are not UTF-8: strict (an error naming
    # the line), replace (U+FFFD, as gensim) or ignore (drop).

    def load(self, limit: int | None = None) -> list[tuple[str, Vectors]]:
        return [(name, load(name, limit=limit, unicode_errors=self.unicode_errors)) for name in self.vectors]


@dataclass(frozen=True, kw_only=True)
class WordsimRun(VectorSets):
    """``mmwe eval-words``."""

    benchmark: Annotated[tuple[str, ...], Opt("-b")] = ()  # Built-in (men, wordsim353, ws353-rel, ws353-sim,
    # rg65, rw, mturk287, simlex999, simverb3500, mturk771, yp130) or a `w1 w2 score` file; repeatable. Default: all
    # built-ins.
    similarity: Similarity = "cosine"  # cosine or euclidean (negative distance).
    case_sensitive: bool = False  # Keep the case of benchmark words.
    impute_mean: bool = False  # Score pairs with a missing word using the mean vector instead of skipping them.
    ci: bool = False  # Bootstrap 95% CI of Spearman (resampled pairs).
    n_boot: Annotated[int, Opt(min=1)] = 1000  # Bootstrap resamples for --ci.
    seed: int = 0  # Seed of the bootstrap.
    limit: int | None = None  # Read only the first N vectors of each set.


@dataclass(frozen=True, kw_only=True)
class AnalogyRun(VectorSets):
    """``mmwe eval-analogies``."""

    dataset: Annotated[str, Opt("-d")] = "google"  # Built-in (google: Mikolov et al.'s 19,544 questions) or a
    # file of `: SECTION` lines and `a b c d` questions.
    method: Method = "3cosadd"  # 3cosadd (gensim most_similar) or 3cosmul (most_similar_cosmul).
    restrict_vocab: Annotated[int, Opt(min=1)] = 300000  # Questions and answers use only the first N words
    # (gensim's default).
    case_sensitive: bool = False  # Keep case; by default words and questions are upper-cased, as gensim does.
    limit: int | None = None  # Read only the first N vectors of each set.


@dataclass(frozen=True, kw_only=True)
class TripletRun(VectorSets):
    """``mmwe eval-triplets``."""

    dataset: str = "cldr-triplets"  # cldr-triplets, or TSV base<TAB>positive<TAB>negative
    ci: bool = True  # Bootstrap 95% confidence interval.
    seed: int = 0  # Seed of the bootstrap.


@dataclass(frozen=True, kw_only=True)
class MnnoRun:
    """``mmwe mnno A B``."""

    a: Annotated[str, Opt(argument=True, metavar="A")]  # First set: .csv (label,v1,...,vd), .npy, or word vectors.
    b: Annotated[str, Opt(argument=True, metavar="B")]  # Second set, paired with A by row (or by shared words).
    k: Annotated[int, Opt("-k", min=1)] = 10  # Neighbours per point.
    metric: Similarity = "cosine"  # cosine or euclidean.
    include_self: bool = False  # Count each point as its own neighbour (the authors' released code).
    permutations: Annotated[int, Opt(min=0)] = 0  # Shuffled pairings for a null distribution and p-value.
    backend: Backend = "exact"  # exact, torch (exact, on CUDA when there is a GPU), faiss or hnsw (approximate, for
    # very large N).
    device: Device = "auto"  # auto (the exact search runs on CUDA when there is a GPU), cpu or cuda.
    ties: Ties = "index"  # index (the lower index wins a tie at the K-th place) or sklearn (ties broken as
    # scikit-learn's brute kNN: the authors' procedure).
    alignment: Annotated[bool, Opt("--alignment/--no-alignment")] = False  # Also report the
    # Platonic-representation metrics: mutual_knn, cycle_knn, lcs_knn, edit_distance_knn (with chance levels and,
    # with --permutations, nulls), cka, unbiased_cka, cknna, svcca.
    l2_normalize: bool = False  # Divide every row by its L2 norm first, as platonic-rep does (changes the kernel
    # metrics; cosine neighbours do not change).
    clip_quantile: float | None = None  # Clamp each set's entries to ±v first, v = mean over rows of the
    # Q-quantile of |row| (platonic-rep: 0.95). Applies to every measure.
    kernel: Kernel = "linear"  # Kernel of cka and unbiased_cka: linear or rbf (RBF costs O(N^2 d), blockwise).
    rbf_sigma: float = 1.0  # Width of the RBF kernel.
    precision: Precision = "auto"  # The exact search's candidate GEMMs: fp32, bf16 (the same lists; faster with
    # AMX or on a GPU) or auto (bf16 there, fp32 elsewhere).
    seed: int = 0  # Seed of the permutations.
    unicode_errors: UnicodeErrors = "strict"  # Words in a vector file that are not UTF-8: strict (an error naming
    # the line), replace (U+FFFD, as gensim) or ignore (drop).
