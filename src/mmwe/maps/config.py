"""How a cross-modal map is built and trained: ``MapConfig``, the model and loss names, ``parse_loss``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Literal

from mmwe.devices import DEVICES, Device
from mmwe.errors import MmweError
from mmwe.maps.normalize import parse_normalize
from mmwe.validation import check, check_choice, check_range

MODELS = ("lin", "nn", "procrustes", "cca")
TRAINED_MODELS = ("lin", "nn")  # fitted by Adam on MapConfig.loss
CLOSED_FORM = ("procrustes", "cca")  # fitted in one solve; loss and optimiser settings do not apply
LOSSES = ("mse", "max-margin", "cosine", "infonce", "similarity", "neighbourhood", "graph", "adversarial")
PAIRWISE = ("max-margin", "infonce", "similarity", "neighbourhood", "graph")  # need >= 2 rows per batch
PAIRING = ("mse", "max-margin", "cosine", "infonce")  # terms that tie f(x_i) to its own y_i
_ALIASES = {"neighborhood": "neighbourhood"}
MAX_HIDDEN_LAYERS = 5
ACTIVATION_NAMES = ("relu", "tanh", "sigmoid")  # keys of model.ACTIVATIONS


@dataclass
class MapConfig:
    """How a cross-modal map is built and trained (one field per hyper-parameter)."""

    model: Literal["lin", "nn", "procrustes", "cca"] = "lin"  # lin: x W + b; nn: MLP; procrustes, cca: closed form
    hidden: tuple[int, ...] = (300,)  # sizes of the hidden layers of "nn" (1 to 5); ignored by "lin"
    activation: Literal["relu", "tanh", "sigmoid"] = "relu"  # non-linearity after each hidden layer
    dropout: float = 0.0  # drop probability after each hidden activation (training only); 0 = none
    loss: str = "mse"  # mse, max-margin, cosine, infonce, similarity, neighbourhood, graph, or weights: mse=1,graph=0.5
    margin: float = 0.5  # margin of the max-margin ranking hinge (cosine units)
    temperature: float = 0.05  # InfoNCE softmax temperature (the start value when learned)
    learn_temperature: bool = False  # learn the InfoNCE temperature with the map (CLIP's logit scale, >= 0.01)
    nb_temperature: float = 0.1  # temperature of the neighbour distributions of the neighbourhood and graph losses
    graph_k: int = 10  # neighbours per training row in Y's exact K-NN graph (graph loss)
    adv_hidden: int = 256  # units of each of the 2 hidden layers of the adversarial discriminator
    adv_lr: float = 1e-3  # Adam learning rate of the discriminator (betas 0.5, 0.999)
    adv_steps: int = 1  # discriminator updates per map update
    cca_components: int = 0  # CCA components; 0 = min(dx, dy, rows - 1)
    lr: float = 1e-3  # Adam learning rate
    weight_decay: float = 0.0  # Adam L2 penalty
    epochs: int = 100  # maximum passes over the training rows
    batch_size: int = 64  # rows per Adam step; also the pool of negatives of the pairwise losses
    val_fraction: float = 0.1  # rows held out for early stopping; 0 = no split, train all `epochs`
    patience: int = 5  # stop after this many epochs without a better validation loss
    seed: int = 0  # seeds initialisation, the validation split, shuffling and dropout
    device: Device = "auto"  # where lin/nn train: auto = cuda when present (fp32, fused Adam)
    normalize: str = ""  # vecmap preprocessing of X and Y, in order: unit,center,unitdim,centeremb; "" = none

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)

    @property
    def terms(self) -> dict[str, float]:
        """The loss as {term: weight} (see parse_loss)."""
        return parse_loss(self.loss)

    def validate(self) -> MapConfig:
        """Raise MmweError on a setting that cannot work (expected / got / fix); return self."""
        check_choice("model", self.model, MODELS)
        check_choice("activation", self.activation, ACTIVATION_NAMES)
        check_choice("device", self.device, DEVICES)
        parse_normalize(self.normalize)
        terms = parse_loss(self.loss)
        check(self.model != "nn" or 1 <= len(self.hidden) <= MAX_HIDDEN_LAYERS,
              f"expected 1 to {MAX_HIDDEN_LAYERS} hidden layers for model 'nn', got {len(self.hidden)}; "
              "fix: give --hidden once per layer, e.g. --hidden 300")
        check(all(h >= 1 for h in self.hidden), f"expected positive hidden sizes, got {list(self.hidden)}")
        check_range("dropout", self.dropout, 0.0, 1.0, hi_open=True)
        check_range("val_fraction", self.val_fraction, 0.0, 1.0, hi_open=True)
        check_range("margin", self.margin, 0.0, math.inf)
        check_range("weight_decay", self.weight_decay, 0.0, math.inf)
        for name in ("lr", "temperature", "nb_temperature", "adv_lr"):
            check(getattr(self, name) > 0, f"expected {name} > 0, got {getattr(self, name)}")
        for name, low in (("epochs", 0), ("batch_size", 1), ("patience", 1), ("graph_k", 1), ("adv_hidden", 1),
                          ("adv_steps", 1), ("cca_components", 0)):
            check(int(getattr(self, name)) >= low, f"expected {name} >= {low}, got {getattr(self, name)}")
        pairwise = [t for t in terms if t in PAIRWISE]
        check(not pairwise or self.batch_size >= 2,
              f"expected batch_size >= 2 for the {pairwise[0] if pairwise else ''} loss (the other rows of a batch "
              f"are its negatives), got {self.batch_size}; fix: use --batch-size 64")
        return self

    def to_dict(self) -> dict:
        """Plain dict (lists, str, int, float) that torch.load(weights_only=True) can read back."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> MapConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def collell(cls, model: str, *, direction: str = "t2i", visual: str = "vgg128", **overrides) -> MapConfig:
        """The authors' choices for IAPR TC-12 (param_utils.py and learn_and_eval.py of their code).

        1 hidden ReLU layer of 512 units (vgg128 features) or 1024 (ResNet), batch 128, no dropout,
        50 epochs with no early stopping, lr 1e-3 except 1e-4 for the linear image-to-text map.
        """
        lr = 1e-4 if (model == "lin" and direction == "i2t") else 1e-3
        base = dict(model=model, hidden=(512 if visual == "vgg128" else 1024,), activation="relu",
                    dropout=0.0, loss="mse", lr=lr, epochs=50, batch_size=128, val_fraction=0.0)
        base.update(overrides)
        return cls(**base)


def parse_loss(spec: str) -> dict[str, float]:
    """``"mse"`` -> {"mse": 1.0}; ``"mse=1,neighbourhood=0.5"`` -> {"mse": 1.0, "neighbourhood": 0.5}.

    Terms of weight 0 are dropped; at least one must remain, and ``adversarial`` needs a term of ``PAIRING``
    beside it (fooling the discriminator alone does not tie f(x_i) to its own y_i).
    """
    wanted = f"a loss in {{{', '.join(LOSSES)}}} or weighted terms like 'mse=1,neighbourhood=0.5'"
    terms: dict[str, float] = {}
    for part in str(spec).split(","):
        name, eq, weight_text = (p.strip() for p in part.partition("="))
        name = _ALIASES.get(name.lower(), name.lower())
        if name not in LOSSES:
            raise MmweError(f"expected {wanted}, got {spec!r} (unknown term {name!r}); fix: e.g. --loss mse")
        try:
            weight = float(weight_text) if eq else 1.0
        except ValueError:
            weight = math.nan
        if not (math.isfinite(weight) and weight >= 0):
            raise MmweError(f"expected a finite weight >= 0 for loss term {name!r}, got {weight_text!r} in {spec!r}")
        if name in terms:
            raise MmweError(f"expected each loss term once, got {name!r} twice in {spec!r}")
        terms[name] = weight
    terms = {k: w for k, w in terms.items() if w > 0}
    if not terms:
        raise MmweError(f"expected {wanted} with a weight > 0, got {spec!r}")
    if "adversarial" in terms and not any(t in PAIRING for t in terms):
        raise MmweError(f"expected a regression or contrastive term beside 'adversarial' ({', '.join(PAIRING)}), "
                        f"got {spec!r}; fix: e.g. --loss mse=1,adversarial=0.1")
    return terms
