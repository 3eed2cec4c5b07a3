"""Self-supervised pretraining: two views of one track, a contrastive objective, an encoder.

:mod:`.views` cuts and augments the views, :mod:`.contrastive` scores them, :mod:`.encoder`
is the front-end + backbone + projection head that is pretrained and then fine-tuned
(``train.init_from``) or probed (``baseline --embeddings-from``), and :mod:`.loop` is the
training loop's pretraining variant. ``waveform-mir pretrain`` (:mod:`waveform_mir.pretrain`)
runs them.
"""

from .contrastive import OBJECTIVES, nt_xent, pair_accuracy
from .encoder import ContrastiveEncoder, build_encoder
from .views import ViewMaker, WaveformAugment

__all__ = ["OBJECTIVES", "ContrastiveEncoder", "ViewMaker", "WaveformAugment", "build_encoder",
           "nt_xent", "pair_accuracy"]
