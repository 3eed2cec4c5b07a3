"""The genre web page: what an upload turns into, the live server, and a real browser.

The analysis tests need no web framework. The server tests start the page on a free loopback
port and talk to it through ``gradio_client``; the browser test drives headless Debian
Chromium. Set ``WAVEFORM_MIR_SCREENSHOT=1`` (or a file path) to save the browser's view to
``docs/screenshot.png``.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from browser import free_loopback_port, missing_browser_reason, start_chromium
from inference_helpers import GENRES, SAMPLE_RATE, write_clip

from waveform_mir.cli import build_parser
from waveform_mir.data import decode_audio
from waveform_mir.demo.analysis import Limits, analyse_upload, genre_segments, verdict
from waveform_mir.demo.examples import FALLBACK_GENRES, example_genres, write_examples
from waveform_mir.predict import TrackScores

REPO = Path(__file__).resolve().parents[1]
LIMITS = Limits(max_upload_mb=5, max_seconds=30)




def as_upload(source: Path, folder: Path) -> Path:
    """A copy in its own folder, the way Gradio stores an upload."""
    target = folder / "upload-hash" / source.name
    target.parent.mkdir(parents=True)
    return Path(shutil.copy(source, target))


def test_upload_is_scored_then_deleted(predictor, tmp_path):
    upload = as_upload(write_clip(tmp_path / "song.mp3", "metal", seed=11), tmp_path)
    result = analyse_upload(predictor, upload, LIMITS)
    assert result.ok
    assert next(iter(result.probabilities)) == "metal"
    assert "song.mp3 sounds like **metal**" in result.verdict
    assert "4 chunks" in result.verdict and "only its first" not in result.verdict
    rate, audio = result.audio
    assert rate == SAMPLE_RATE and audio.dtype.name == "int16" and audio.shape == (4 * rate,)
    heatmap = result.timeline.axes[0]
    assert [t.get_text() for t in heatmap.get_yticklabels()] == list(GENRES)
    assert not upload.exists() and not upload.parent.exists()


def test_no_upload_asks_for_one(predictor):
    result = analyse_upload(predictor, None, LIMITS)
    assert not result.ok and "Upload an audio file" in result.verdict


def _bad_upload(kind: str, folder: Path) -> Path:
    folder.mkdir()
    if kind == "not audio":
        path = folder / "report.pdf"
        path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40)
    elif kind == "corrupt mp3":
        whole = write_clip(folder / "whole.mp3", "house", seed=12, seconds=6.0).read_bytes()
        path = folder / "corrupt.mp3"
        path.write_bytes(whole[: len(whole) // 3])
    elif kind == "empty":
        path = folder / "empty.wav"
        path.write_bytes(b"")
    elif kind == "too short":
        path = write_clip(folder / "blip.wav", "house", seed=13, seconds=0.2)
    else:  # "too big"
        path = write_clip(folder / "big.wav", "house", seed=14, seconds=1.0)
    return path


@pytest.mark.parametrize(("kind", "expected"), [
    ("not audio", "not decodable audio"),
    ("corrupt mp3", "truncated"),
    ("empty", "empty"),
    ("too short", "too short"),
    ("too big", "the limit is 0.01 MB"),
])
def test_bad_uploads_get_a_sentence_not_an_error(predictor, tmp_path, kind, expected):
    upload = _bad_upload(kind, tmp_path / "upload")
    result = analyse_upload(predictor, upload, Limits(max_upload_mb=0.01, max_seconds=30)
                            if kind == "too big" else LIMITS)
    assert not result.ok and result.timeline is None and result.audio is None
    assert result.verdict.startswith("⚠️") and expected in result.verdict, result.verdict
    assert upload.name in result.verdict
    assert not upload.exists()


def test_long_upload_is_analysed_up_to_the_limit(predictor, tmp_path):
    upload = as_upload(write_clip(tmp_path / "long.ogg", "ambient", seed=15, seconds=5.0),
                       tmp_path)
    result = analyse_upload(predictor, upload, Limits(max_upload_mb=5, max_seconds=2))
    assert result.ok
    assert "Analysed 2.0 s in 2 chunks" in result.verdict
    assert "only its first 2 s were analysed" in result.verdict
    assert result.audio[1].shape == (2 * SAMPLE_RATE,)


def test_genre_segments_read_as_sections():
    a, b = [0.9, 0.1], [0.2, 0.8]
    rows = [a, a, a, b, a, a, b, b, b, b, a]  # a blip of b, then a real change, a blip of a
    scores = TrackScores(probabilities={"a": 0.5, "b": 0.5}, labels=["a", "b"],
                         timeline=np.array(rows), chunk_starts_s=np.arange(11.0) * 2,
                         embedding=np.zeros(4), duration_s=21.5)
    assert genre_segments(scores) == [("a", 0.0, 12.0), ("b", 12.0, 21.5)]
    assert "Over time: a 0–12 s → b 12–21.5 s." in verdict(scores, "x.mp3", 600)
    steady = TrackScores(probabilities={"a": 1.0, "b": 0.0}, labels=["a", "b"],
                         timeline=np.array([a]), chunk_starts_s=np.zeros(1),
                         embedding=np.zeros(4), duration_s=0.7)
    assert genre_segments(steady) == [("a", 0.0, 0.7)]
    assert "Over time" not in verdict(steady, "x.mp3", 600)


def test_example_clips_are_generated_mp3s(tmp_path):
    assert example_genres(["metal", "blues", "ambient"]) == ["metal", "ambient"]
    assert example_genres(["Electronic", "Folk"]) == list(FALLBACK_GENRES)
    clips = write_examples(tmp_path, ["metal", "ambient"])
    assert [c.title for c in clips] == ["metal", "ambient", "metal → ambient"]
    for clip in clips:
        assert clip.path.suffix == ".mp3"
        assert decode_audio(clip.path, SAMPLE_RATE).shape[0] >= 9.5 * SAMPLE_RATE


def test_demo_command_binds_loopback_by_default():
    args = build_parser().parse_args(["demo", "--model", "some/model"])
    assert (args.host, args.port, args.max_upload_mb, args.max_seconds) == (
        "127.0.0.1", 7860, 50, 600)


# --- the live page ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(predictor):
    """The page served on a free loopback port for this module's tests."""
    pytest.importorskip("gradio", reason="the demo extra (gradio) is not installed")
    from waveform_mir.demo.server import ServerOptions, launch

    page = launch(predictor, ServerOptions("127.0.0.1", free_loopback_port(), LIMITS),
                  block=False)
    yield page
    page.close()


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> dict[Path, str]:
    """Eight MP3s, two per genre, with file names that do not give the genre away."""
    folder = tmp_path_factory.mktemp("uploads")
    return {write_clip(folder / f"clip{i}.mp3", genre, seed=900 + i, seconds=3.0): genre
            for i, genre in enumerate(GENRES * 2)}


def test_eight_concurrent_uploads_get_their_own_answers(server, predictor, uploads):
    from gradio_client import Client, handle_file

    client = Client(server.local_url, download_files=False, verbose=False)

    def ask(path: Path):
        return client.predict(handle_file(str(path)), api_name="/analyse")

    with ThreadPoolExecutor(max_workers=len(uploads)) as pool:
        answers = dict(zip(uploads, pool.map(ask, uploads), strict=True))
    for path, (text, label, _, audio) in answers.items():
        expected = predictor.score_file(path)
        assert label["label"] == expected.top_genre == uploads[path], path.name
        assert f"{path.name} sounds like **{uploads[path]}**" in text
        scores = {item["label"]: item["confidence"] for item in label["confidences"]}
        assert scores == pytest.approx(expected.probabilities, abs=1e-4)
        assert audio is not None
    cache = Path(os.environ["GRADIO_TEMP_DIR"])
    leftovers = [p for p in cache.rglob("clip*.mp3")]
    assert not leftovers, "uploads must be deleted after the request"


def test_example_clips_can_be_analysed(server):
    from gradio_client import Client

    client = Client(server.local_url, download_files=False, verbose=False)
    cleared, text, label, _, _ = client.predict(0, api_name="/analyse_example")
    assert cleared is None
    assert f"{GENRES[0]}.mp3 sounds like **{GENRES[0]}**" in text
    assert label["label"] == GENRES[0]


# --- a real browser -----------------------------------------------------------------------


def _screenshot_path() -> Path | None:
    flag = os.environ.get("WAVEFORM_MIR_SCREENSHOT")
    if not flag:
        return None
    return REPO / "docs" / "screenshot.png" if flag == "1" else Path(flag)


@pytest.mark.browser
def test_browser_upload_shows_the_top_genre(server, uploads, tmp_path):
    reason = missing_browser_reason()
    if reason:
        pytest.skip(reason)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = start_chromium(tmp_path / "profile")
    try:
        wait = WebDriverWait(driver, 60)

        def verdict_contains(text: str) -> str:
            wait.until(lambda d: text in d.find_element(By.ID, "verdict").text)
            return driver.find_element(By.ID, "verdict").text

        def upload(path: Path) -> None:
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"))
            driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(path))

        driver.get(server.local_url)
        song, genre = next(iter(uploads.items()))
        upload(song)
        assert f"{song.name} sounds like {genre}" in verdict_contains("sounds like")
        assert genre in driver.find_element(By.ID, "probabilities").text

        medley = driver.find_elements(By.CSS_SELECTOR, "#examples button")[-1]
        assert "→" in medley.text
        medley.click()
        verdict_contains("_to_")
        screenshot = _screenshot_path()
        if screenshot:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline img, "
                                                 "#timeline svg"))
            driver.save_screenshot(str(screenshot))

        not_audio = tmp_path / "holiday.mp3"
        not_audio.write_bytes(b"<html>this is a web page, not a song</html>" * 30)
        upload(not_audio)
        text = verdict_contains("could not be analysed")
        assert "holiday.mp3" in text and "Traceback" not in driver.page_source
    finally:
        driver.quit()
