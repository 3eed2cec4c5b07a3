"""Start a run from another model's weights: transfer learning for small labelled sets.

A few hundred labelled clips are too few to learn a front-end and a deep backbone from
scratch; the tagging literature starts such tasks from a network trained on a larger one
(Choi et al., "Transfer learning for music classification and regression tasks", ISMIR
2017; the musicnn and PANNs taggers are used this way). ``train.init_from`` names any model
``waveform_mir.predict.load_model`` can read (a classifier's or a pretrained encoder's
``best/`` folder, or a Hub id), and
:func:`warm_start` copies into the new model, before its optimiser is built:

* every backbone tensor (parameters and batch-norm statistics) whose name and shape match,
  and the front-end's too where it is the same kind of front-end (a mel model can start a
  learnable-mel one's backbone, not its filters);
* never the head, whose outputs name the source's labels, even when their count happens to
  match (a pretrained encoder's head is its contrastive projection, dropped likewise), nor
  the calibration buffers ``temperature`` and ``thresholds``, which describe
  those outputs (a copied temperature would rescale every training logit).

Tensors of another shape (e.g. a front-end with more mel bands) keep their fresh
initialisation and are listed. The source must have the same kind of backbone and read
audio at the recipe's sample rate (a front-end's kernels are defined in Hz of its rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from waveform_mir.config import RecipeError
from waveform_mir.model import WaveformClassifier
from waveform_mir.predict import load_model

if TYPE_CHECKING:
    from waveform_mir.pretraining.encoder import ContrastiveEncoder

# What describes the source's labels rather than the audio: never transferred.
LABEL_SPECIFIC = ("head.", "temperature", "thresholds")


@dataclass
class WarmStart:
    """What :func:`warm_start` did: tensor names ``copied``, those left at their fresh
    initialisation because the source's shape differs (``mismatched``) or the source lacks
    them (``missing``), and the label-specific ones it never copies (``kept``)."""

    source: str
    copied: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"warm start from {self.source}: {len(self.copied)} tensors copied, "
                f"{len(self.kept)} label-specific kept fresh")
        if self.mismatched or self.missing:
            text += (f"; left fresh: {len(self.mismatched)} of another shape, "
                     f"{len(self.missing)} absent from the source "
                     f"({', '.join((self.mismatched + self.missing)[:4])}…)")
        return text


def warm_start(model: WaveformClassifier | ContrastiveEncoder, source: str) -> WarmStart:
    """Copy ``source``'s audio-describing weights into ``model`` in place (see the module):
    a classifier to fine-tune, or an encoder whose pretraining starts from ``source``.

    Raises:
        RecipeError: the source reads another sample rate, has another kind of backbone,
            or shares no learnable tensor with ``model``.
    """
    donor = load_model(source)
    if donor.sample_rate != model.sample_rate:
        raise RecipeError(f"train.init_from {source} reads audio at {donor.sample_rate} Hz, "
                          f"the recipe at {model.sample_rate} Hz; its front-end would hear "
                          f"other frequencies (set data.sample_rate to {donor.sample_rate})")
    if donor.backbone_name != model.backbone_name:
        raise RecipeError(f"train.init_from {source} has a {donor.backbone_name} backbone, "
                          f"this recipe a {model.backbone_name}: there is nothing to transfer")
    same_frontend = donor.frontend_name == model.frontend_name
    donor_state = donor.state_dict()
    report = WarmStart(source)
    for name, tensor in model.state_dict().items():
        theirs = donor_state.get(name)
        if name.startswith(LABEL_SPECIFIC):
            report.kept.append(name)
        elif theirs is None:
            report.missing.append(name)
        elif theirs.shape != tensor.shape or (name.startswith("frontend.") and not same_frontend):
            report.mismatched.append(name)
        else:
            report.copied.append(name)
    parameters = {name for name, _ in model.named_parameters()}
    if not parameters.intersection(report.copied):  # shared step counters are no transfer
        raise RecipeError(f"train.init_from {source} shares no learnable tensor with this "
                          f"recipe's model (another width or depth of the backbone?)")
    model.load_state_dict({name: donor_state[name] for name in report.copied}, strict=False)
    return report
