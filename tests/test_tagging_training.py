"""Multi-label tagging end to end on the synthetic tag clips: it learns, its thresholds are
chosen on validation and travel in the checkpoint, and predict names the tags present."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from waveform_mir.cli import main
from waveform_mir.config import load_recipe
from waveform_mir.data.synthetic import render_clip
from waveform_mir.model import WaveformClassifier
from waveform_mir.predict import Predictor
from waveform_mir.train import train

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Path:
    """A small tagger trained on synthetic clips with genre, instrument and tempo tags."""
    out = tmp_path_factory.mktemp("tagger")
    recipe = load_recipe(REPO / "recipes" / "quickstart_tags.yaml", [
        "data.sample_rate=8000", "data.crop_seconds=1.0",
        "data.options.num_per_class={train: 24, validation: 6, test: 8}",
        "model.backbone={name: short_chunk_cnn, width: 8}", "model.frontend.n_mels=32",
        "train.batch_size=16", "train.max_steps=150", "train.eval_every=50",
        "train.checkpoint_every=1000", "train.log_with=[]", "train.progress=false",
        "train.positive_weights=true", f"data.cache_dir={out / 'cache'}",
        f"train.output_dir={out / 'run'}"])
    result = train(recipe)
    assert result.test_scores is not None
    return out / "run"


@pytest.mark.slow
def test_a_small_tagger_learns_far_above_chance(tagger):
    scores = json.loads((tagger / "metrics_test.json").read_text())
    assert scores["macro_roc_auc"] > 0.8, scores["macro_roc_auc"]  # chance is 0.5
    assert scores["macro_pr_auc"] > 2 * np.mean([row["positives"] / scores["num_examples"]
                                                 for row in scores["per_tag"].values()])
    assert scores["macro_f1"] is not None and (tagger / "tags_test.png").is_file()
    summary = json.loads((tagger / "train_summary.json").read_text())
    assert "val_macro_pr_auc" in summary["history"][-1]  # chosen by the tagging rule
    assert "macro PR-AUC" in (tagger / "best" / "README.md").read_text()


def test_thresholds_are_chosen_on_validation_and_survive_the_round_trip(tagger):
    model = WaveformClassifier.from_pretrained(tagger / "best")
    again = WaveformClassifier.from_pretrained(tagger / "best")
    assert model.task == "multi_label"
    assert not torch.allclose(model.thresholds, torch.full_like(model.thresholds, 0.5))
    torch.testing.assert_close(model.thresholds, again.thresholds)
    clip = torch.randn(2, 8000)
    with torch.no_grad():
        probabilities = model.probabilities(model(clip))
    assert ((probabilities > 0) & (probabilities < 1)).all()
    assert not torch.allclose(probabilities.sum(dim=1), torch.ones(2))  # sigmoids, not softmax


def test_predict_names_the_tags_present(tagger, tmp_path, capsys):
    song = tmp_path / "metal.mp3"
    sf.write(song, render_clip("metal", seed=5, seconds=4.0, sample_rate=22050), 22050)
    scores = Predictor.from_pretrained(tagger).score_file(song)
    assert scores.thresholds is not None
    assert scores.tags == [(t, p) for t, p in scores.probabilities.items()
                           if p >= scores.thresholds[t]]
    assert main(["predict", str(song), "--model", str(tagger), "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [t["tag"] for t in record["tags"]] == [t for t, _ in scores.tags]


def test_the_web_page_shows_the_tags_present_as_chips(tagger, tmp_path):
    from waveform_mir.demo.analysis import analyse_bytes

    song = tmp_path / "jazz.wav"
    sf.write(song, render_clip("jazz", seed=9, seconds=3.0, sample_rate=22050), 22050)
    predictor = Predictor.from_pretrained(tagger)
    result = analyse_bytes(predictor, song.read_bytes(), song.name, max_seconds=600)
    present = predictor.score_file(song).tags
    assert present  # every clip has chords, and the model has learnt that much
    assert result.ok and set(result.probabilities) == set(predictor.labels)
    chips = [f"`{tag} {probability:.0%}`" for tag, probability in present]
    assert all(chip in result.verdict for chip in chips) and "sounds like" not in result.verdict
    assert "tag scores over time" in result.timeline.axes[0].get_title()


@pytest.mark.browser
def test_a_browser_upload_to_a_tagger_shows_its_tags(tagger, tmp_path):
    """The page of a tagging model, driven by headless Chromium: an upload gets one chip per
    tag present, not a genre verdict."""
    from browser import free_loopback_port, missing_browser_reason, start_chromium

    reason = missing_browser_reason()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("gradio", reason="the demo extra (gradio) is not installed")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from waveform_mir.demo.analysis import Limits
    from waveform_mir.demo.server import ServerOptions, launch

    predictor = Predictor.from_pretrained(tagger)
    song = tmp_path / "a song.mp3"
    sf.write(song, render_clip("house", seed=21, seconds=3.0, sample_rate=22050), 22050)
    present = predictor.score_file(song).tags
    assert present
    limits = Limits(max_upload_mb=5, max_seconds=30)
    page = launch(predictor, ServerOptions("127.0.0.1", free_loopback_port(), limits),
                  block=False)
    driver = start_chromium(tmp_path / "profile")
    try:
        driver.get(page.local_url)
        wait = WebDriverWait(driver, 60)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"))
        driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(song))
        wait.until(lambda d: "tag" in d.find_element(By.ID, "verdict").text)
        chips = [chip.text for chip in driver.find_elements(By.CSS_SELECTOR, "#verdict code")]
        assert chips == [f"{tag} {probability:.0%}" for tag, probability in present]
        assert "sounds like" not in driver.find_element(By.ID, "verdict").text
    finally:
        driver.quit()
        page.close()


def test_an_ensemble_of_taggers_ranks_by_averaged_probabilities(tagger, tmp_path):
    """Seed averaging for tags: ROC-AUC and PR-AUC of the mean, no F1 (each member's
    thresholds fit its own outputs, not the average's)."""
    import shutil

    from waveform_mir.evaluation.ensemble import evaluate_ensemble

    other = WaveformClassifier.from_pretrained(tagger / "best")
    with torch.no_grad():
        other.head.linear.bias.add_(torch.linspace(-1, 1, len(other.id2label)))
    other.save_pretrained(tmp_path / "other")
    shutil.copy(tagger / "best" / "recipe.yaml", tmp_path / "other" / "recipe.yaml")
    scores = evaluate_ensemble([tagger, tmp_path / "other"], output_dir=tmp_path / "out")
    alone = json.loads((tagger / "metrics_test.json").read_text())
    assert scores["members"][0]["macro_pr_auc"] == pytest.approx(alone["macro_pr_auc"])
    assert scores["macro_roc_auc"] > 0.8 and "macro_f1" not in scores
    assert (tmp_path / "out" / "tags_test.png").is_file()
