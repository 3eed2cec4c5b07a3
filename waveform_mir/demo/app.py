"""The Gradio page: upload a song (or click a generated example) and see its genre scores.

Layout: upload, example clips and the analysed audio on the left; the verdict in words, the
genre probabilities as bars and the genre-over-time heatmap on the right. All the work is in
:mod:`.analysis`; this module only wires components to it.

Gradio keeps uploads and generated files in its cache folder. The page gets a private one,
removed when the process exits and swept of files older than :data:`CACHE_MAX_AGE_S` while it
runs; uploads themselves are deleted as soon as they have been read.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from waveform_mir.demo.analysis import Limits, PageResult, analyse_upload
from waveform_mir.demo.examples import ExampleClip, example_genres, write_examples
from waveform_mir.predict import Predictor

CACHE_SWEEP_EVERY_S = 120
CACHE_MAX_AGE_S = 900
CONCURRENCY = 2  # requests scored at once; more only slows each one down on a small CPU
DEFAULT_LIMITS = Limits()
TITLE = "waveform-mir · music genre from the raw waveform"


def private_temp_dir(prefix: str) -> Path:
    """A fresh folder removed at interpreter exit."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def use_private_gradio_cache() -> Path:
    """Point Gradio's upload/cache folder (``GRADIO_TEMP_DIR``) at a private temp folder,
    unless the operator chose one; Gradio reads the variable when a page is built."""
    if not os.environ.get("GRADIO_TEMP_DIR"):
        os.environ["GRADIO_TEMP_DIR"] = str(private_temp_dir("waveform-mir-gradio-"))
    return Path(os.environ["GRADIO_TEMP_DIR"])


def build_app(predictor: Predictor, limits: Limits = DEFAULT_LIMITS,
              examples: list[ExampleClip] | None = None) -> gr.Blocks:
    """The page for ``predictor``; ``examples`` default to clips generated for its genres."""
    use_private_gradio_cache()
    if examples is None:
        folder = private_temp_dir("waveform-mir-examples-")
        examples = write_examples(folder, example_genres(predictor.labels))

    def outputs_of(result: PageResult) -> tuple:
        return result.verdict, result.probabilities, result.timeline, result.audio

    def analyse(path: str | None) -> tuple:
        return outputs_of(analyse_upload(predictor, path, limits))

    def analyse_example(index: int) -> tuple:
        clip = examples[index]
        result = analyse_upload(predictor, clip.path, limits, delete=False)
        return (None, *outputs_of(result))

    with gr.Blocks(title=TITLE, analytics_enabled=False,
                   delete_cache=(CACHE_SWEEP_EVERY_S, CACHE_MAX_AGE_S)) as page:
        gr.Markdown(f"# {TITLE}\n\n{_introduction(predictor, limits)}")
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label="Audio file (MP3, WAV, FLAC, OGG)", type="filepath",
                                 elem_id="upload")
                gallery = gr.Dataset(
                    label="Example clips (generated, click one)", type="index",
                    components=[gr.Textbox(visible=False)],
                    samples=[[clip.title] for clip in examples], elem_id="examples")
                player = gr.Audio(label="Analysed audio", interactive=False, elem_id="player")
            with gr.Column(scale=2):
                verdict = gr.Markdown(
                    "Upload an audio file or click an example to see its genres.",
                    elem_id="verdict")
                what = "Tag probabilities (each on its own)" if predictor.thresholds else \
                    "Genre probabilities"
                bars = gr.Label(label=what, num_top_classes=len(
                    predictor.labels), elem_id="probabilities")
                timeline = gr.Plot(label="Scores over time", elem_id="timeline")
        results = [verdict, bars, timeline, player]
        upload.upload(analyse, inputs=upload, outputs=results, api_name="analyse",
                      concurrency_limit=CONCURRENCY)
        gallery.click(analyse_example, inputs=gallery, outputs=[upload, *results],
                      api_name="analyse_example", concurrency_limit=CONCURRENCY)
    return page.queue()


def _introduction(predictor: Predictor, limits: Limits) -> str:
    chunk = predictor.chunk_samples / predictor.sample_rate
    return (
        f"The model hears the audio in chunks of {chunk:g} s, scores each chunk and averages "
        f"the chunks into the song's genre. It knows: {', '.join(predictor.labels)}. "
        f"Files up to {limits.max_upload_mb:g} MB; the first {limits.max_seconds:g} s of "
        "longer songs are analysed. Uploads are deleted once analysed."
    )
