"""Front-end x backbone pairs, pair checking, the head, checkpoints and ``describe``."""

from __future__ import annotations

import pytest
import torch
from small_models import SMALL_BACKBONES, SMALL_FRONTENDS

from waveform_mir.config import ModelConfig
from waveform_mir.model import ModelPairError, WaveformClassifier, build_model, valid_pairs

LABELS = {0: "rock", 1: "jazz", 2: "hiphop"}


pytestmark = pytest.mark.usefixtures("single_thread")


def small_model(
    frontend: str, backbone: str, sample_rate: int = 16000, **extra
) -> WaveformClassifier:
    return WaveformClassifier(
        frontend={"name": frontend, **SMALL_FRONTENDS[frontend]},
        backbone={"name": backbone, **SMALL_BACKBONES[backbone]},
        sample_rate=sample_rate,
        id2label=LABELS,
        **extra,
    )


@pytest.mark.parametrize("sample_rate", [16000, 22050])
@pytest.mark.parametrize(("frontend", "backbone"), valid_pairs())
def test_every_valid_pair_gives_finite_logits(frontend: str, backbone: str, sample_rate: int):
    torch.manual_seed(0)
    model = small_model(frontend, backbone, sample_rate)
    logits = model(torch.randn(2, 2 * sample_rate) * 0.1)
    assert logits.shape == (2, len(LABELS))
    assert torch.isfinite(logits).all()


def test_every_registered_name_is_in_a_valid_pair() -> None:
    pairs = valid_pairs()
    assert {f for f, _ in pairs} == set(SMALL_FRONTENDS)
    assert {b for _, b in pairs} == set(SMALL_BACKBONES)


def test_mismatched_pair_is_refused_with_the_valid_pairs() -> None:
    with pytest.raises(ModelPairError, match="valid pairs: .*mel\\+short_chunk_cnn"):
        small_model("mel", "samplecnn")
    with pytest.raises(ValueError):  # ModelPairError is a ValueError
        small_model("raw", "short_chunk_cnn")


@pytest.mark.parametrize("backbone", ["short_chunk_cnn", "short_chunk_resnet"])
def test_2d_backbones_survive_tiny_inputs(backbone: str) -> None:
    model = small_model("mel", backbone).eval()
    assert model(torch.randn(1, 2000)).shape == (1, 3)  # 8 frames of 32 bins


@pytest.mark.parametrize("backbone", ["samplecnn", "resnet1d"])
def test_1d_backbones_survive_tiny_inputs(backbone: str) -> None:
    assert small_model("raw", backbone).eval()(torch.randn(1, 300)).shape == (1, 3)


@pytest.mark.parametrize("pooling", ["mean", "max", "attention"])
def test_head_poolings_and_embedding(pooling: str) -> None:
    model = small_model("mel", "short_chunk_cnn", head={"pooling": pooling, "dropout": 0.1})
    model.eval()
    waveform = torch.randn(2, 16000)
    embedding = model.embed(waveform)
    assert embedding.shape == (2, model.backbone.embedding_dim)
    assert torch.allclose(model.head.classify(embedding), model(waveform))


def test_augment_is_applied_in_training_only() -> None:
    augment = {"freq_masks": 2, "freq_width": 8, "time_masks": 2, "time_width": 8}
    model = small_model("mel", "short_chunk_cnn", augment=augment)
    waveform = torch.randn(2, 16000)
    model.eval()
    assert torch.equal(model(waveform), model(waveform))
    features = model.frontend(waveform)
    assert not torch.equal(model.augment.train()(features), features)


def test_save_and_load_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    model = small_model("leaf", "short_chunk_cnn", head={"pooling": "attention", "dropout": 0.2})
    model.train()
    model(torch.randn(4, 16000))  # move the norm statistics away from their defaults
    model.eval()
    model.save_pretrained(tmp_path)
    assert {"config.json", "model.safetensors"} <= {p.name for p in tmp_path.iterdir()}
    loaded = WaveformClassifier.from_pretrained(tmp_path, strict=True)
    waveform = torch.randn(2, 16000)
    assert torch.equal(model(waveform), loaded(waveform))
    assert loaded.id2label == LABELS and loaded.label2id == {v: k for k, v in LABELS.items()}


def test_build_model_from_recipe_section() -> None:
    config = ModelConfig(
        frontend={"name": "sinc_conv", "num_filters": 8},
        backbone={"name": "samplecnn", "channels": [8, 8]},
        head={"pooling": "max"},
        augment={"time_masks": 1, "time_width": 5},
    )
    model = build_model(config, sample_rate=22050, id2label={"0": "a", "1": "b"})
    assert model.id2label == {0: "a", 1: "b"} and model.sample_rate == 22050
    assert model(torch.randn(2, 22050)).shape == (2, 2)


def test_describe_reports_parameters_and_shapes_per_stage() -> None:
    model = small_model("nnaudio_mel", "short_chunk_cnn")
    rows = {row["stage"]: row for row in model.describe(16000)}
    assert list(rows) == ["frontend", "backbone", "head", "total"]
    assert rows["frontend"]["trainable"] == 32 * 257  # the mel matrix
    assert rows["frontend"]["output_shape"] == (1, 1, 32, 63)
    assert rows["head"]["output_shape"] == (1, 3)
    parts = sum(rows[stage]["total"] for stage in ("frontend", "backbone", "head"))
    assert rows["total"]["total"] == parts == sum(p.numel() for p in model.parameters())


def test_weights_saved_before_temperature_and_thresholds_still_load_strictly():
    config = ModelConfig(frontend={"name": "mel", "n_mels": 32},
                         backbone={"name": "short_chunk_cnn", "width": 4})
    model = build_model(config, sample_rate=16000, id2label={0: "a", 1: "b", 2: "c"})
    old = {k: v for k, v in model.state_dict().items() if k not in ("temperature", "thresholds")}
    again = build_model(config, sample_rate=16000, id2label={0: "a", 1: "b", 2: "c"})
    again.temperature.fill_(3.0)
    again.load_state_dict(old, strict=True)  # what resuming an older training run does
    assert float(again.temperature) == 3.0 and again.thresholds.shape == (3,)


@pytest.mark.parametrize(("stride", "bias", "shape"), [(1, False, (3, 1, 11, 9)),
                                                       (2, True, (2, 1, 10, 7)),
                                                       (2, False, (2, 1, 9, 12))])
def test_the_input_convolution_is_a_conv2d_down_to_its_gradients(stride, bias, shape) -> None:
    from waveform_mir.backbones.input_conv import InputConv2d

    torch.manual_seed(0)
    reference = torch.nn.Conv2d(1, 6, 3, stride=stride, padding=1, bias=bias).double()
    fast = InputConv2d(1, 6, 3, stride=stride, padding=1, bias=bias).double()
    fast.load_state_dict(reference.state_dict())  # the same parameters and checkpoints
    x = torch.randn(shape, dtype=torch.float64)
    outputs, gradients = [], []
    for conv in (reference, fast):
        x_grad = x.clone().requires_grad_()
        out = conv(x_grad)
        # a weighting that is not symmetric, so a flipped or transposed adjoint shows
        (out * torch.linspace(-1, 2, out.numel(), dtype=x.dtype).view_as(out)).sum().backward()
        outputs.append(out.detach())
        gradients.append([x_grad.grad, *(p.grad for p in conv.parameters())])
    torch.testing.assert_close(outputs[1], outputs[0])
    assert len(gradients[1]) == 2 + bias
    for fast_grad, reference_grad in zip(gradients[1], gradients[0], strict=True):
        torch.testing.assert_close(fast_grad, reference_grad)


def test_short_chunk_backbones_read_their_input_with_the_input_convolution() -> None:
    from waveform_mir.backbones.input_conv import InputConv2d

    for name in ("short_chunk_cnn", "short_chunk_resnet"):
        convs = [m for m in small_model("mel", name).backbone.modules()
                 if isinstance(m, torch.nn.Conv2d)]
        assert {type(m) for m in convs if m.in_channels == 1} == {InputConv2d}, name
        assert all(type(m) is torch.nn.Conv2d for m in convs if m.in_channels > 1), name
