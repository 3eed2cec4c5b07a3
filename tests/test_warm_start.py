"""Transfer learning (``train.init_from``): what is copied from the source model, what never
is, and that a training run really starts from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from waveform_mir.config import ModelConfig, RecipeError, load_recipe
from waveform_mir.model import WaveformClassifier, build_model
from waveform_mir.train import train
from waveform_mir.training.warm_start import warm_start

REPO = Path(__file__).resolve().parents[1]
GENRES = {0: "house", 1: "ambient", 2: "metal"}
TAGS = {0: "drums", 1: "bass", 2: "chords"}  # as many outputs as the source: still not copied


def _model(labels: dict[int, str], seed: int, n_mels: int = 32, sample_rate: int = 8000,
           task: str = "single_label") -> WaveformClassifier:
    torch.manual_seed(seed)
    config = ModelConfig(frontend={"name": "mel", "n_mels": n_mels},
                         backbone={"name": "short_chunk_cnn", "width": 4})
    return build_model(config, sample_rate=sample_rate, id2label=labels, task=task)


@pytest.fixture
def source(tmp_path) -> Path:
    """A genre model with its own weights, batch-norm statistics and a fitted temperature."""
    donor = _model(GENRES, seed=1)
    for module in donor.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
    donor.temperature.fill_(2.5)
    donor.save_pretrained(tmp_path / "source")
    return tmp_path / "source"


def _tensors(model: WaveformClassifier, prefix: str) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}


def test_backbone_is_copied_and_head_and_calibration_are_not(source):
    donor = WaveformClassifier.from_pretrained(source)
    model = _model(TAGS, seed=2, task="multi_label")
    fresh_head = {k: v.clone() for k, v in _tensors(model, "head.").items()}
    report = warm_start(model, str(source))
    for name, tensor in _tensors(donor, "backbone.").items():  # weights and BN statistics
        assert torch.equal(model.state_dict()[name], tensor), name
    for name, tensor in _tensors(model, "head.").items():  # same shape, still not copied
        assert torch.equal(tensor, fresh_head[name]) and not torch.equal(
            tensor, donor.state_dict()[name]), name
    assert model.temperature.item() == 1.0  # the source's 2.5 would rescale every logit
    assert {"temperature", "thresholds"} <= set(report.kept)
    assert not report.mismatched and not report.missing
    assert "copied" in report.summary()


def test_tensors_of_another_shape_keep_their_initialisation(source):
    model = _model(TAGS, seed=2, n_mels=48, task="multi_label")  # more mel bands
    report = warm_start(model, str(source))
    conv = "backbone.blocks.0.conv.weight"
    assert conv in report.copied  # convolution kernels do not depend on the band count
    assert all("frontend" in name for name in report.mismatched), report.mismatched


def test_another_frontend_starts_only_the_backbone(source):
    model = _model(TAGS, seed=2)
    model.frontend = _model(TAGS, seed=3, n_mels=32).frontend  # same kind: copied
    assert any(name.startswith("frontend.") for name in warm_start(model, str(source)).copied)
    learnable = build_model(ModelConfig(frontend={"name": "nnaudio_mel", "n_mels": 32,
                                                  "trainable_mel": True},
                                        backbone={"name": "short_chunk_cnn", "width": 4}),
                            sample_rate=8000, id2label=TAGS, task="multi_label")
    report = warm_start(learnable, str(source))
    assert not any(name.startswith("frontend.") for name in report.copied)
    assert "backbone.blocks.0.conv.weight" in report.copied


def test_another_sample_rate_is_refused(source):
    with pytest.raises(RecipeError, match="8000 Hz.*16000 Hz"):
        warm_start(_model(TAGS, seed=2, sample_rate=16000), str(source))


def test_another_backbone_is_refused(tmp_path):
    other = build_model(ModelConfig(frontend={"name": "raw", "channels": 8},
                                    backbone={"name": "samplecnn",
                                              "channels": [8, 8, 16, 16, 16, 16, 16, 16, 32]}),
                        sample_rate=8000, id2label=GENRES)
    other.save_pretrained(tmp_path / "raw")
    with pytest.raises(RecipeError, match="samplecnn backbone, this recipe a short_chunk_cnn"):
        warm_start(_model(TAGS, seed=2), str(tmp_path / "raw"))


@pytest.mark.slow
def test_a_run_starts_from_the_source_weights(source, tmp_path):
    """At learning rate 0 a run's best model keeps exactly the source's backbone weights:
    the warm start happens before the optimiser and survives ``accelerator.prepare``."""
    recipe = load_recipe(REPO / "recipes" / "quickstart_tags.yaml", [
        "data.sample_rate=8000", "data.crop_seconds=1.0",
        "data.options.num_per_class={train: 4, validation: 2, test: 2}",
        "model.frontend={name: mel, n_mels: 32}",
        "model.backbone={name: short_chunk_cnn, width: 4}", "train.lr=0",
        "train.max_steps=2", "train.eval_every=2", "train.checkpoint_every=2",
        "train.batch_size=4", "train.log_with=[]", "train.progress=false",
        f"train.init_from={source}", f"data.cache_dir={tmp_path / 'cache'}",
        f"train.output_dir={tmp_path / 'run'}"])
    result = train(recipe)
    trained = WaveformClassifier.from_pretrained(result.best_model_dir)
    donor = WaveformClassifier.from_pretrained(source)
    weights = [n for n, _ in donor.backbone.named_parameters()]
    assert weights
    for name in weights:
        assert torch.equal(trained.backbone.get_parameter(name),
                           donor.backbone.get_parameter(name)), name
