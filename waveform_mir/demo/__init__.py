"""The web page: upload a song, see its genre scores and how they change over time.

:mod:`.analysis` turns an upload into what the page shows (no web framework involved, so it
is tested directly); :mod:`.app` lays out the Gradio page; :mod:`.server` is the
``waveform-mir demo`` command; :mod:`.space_app` runs the same page as a Hugging Face Space.
"""
