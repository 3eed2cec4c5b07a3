"""Options that make every registered front-end and backbone small enough for CPU tests."""

SMALL_FRONTENDS = {
    "mel": {"n_mels": 32},
    "nnaudio_stft": {"n_fft": 256, "hop_length": 128},
    "nnaudio_mel": {"n_mels": 32},
    "nnaudio_cqt": {"f_min": 65.4, "n_bins": 36},
    "sinc_conv": {"num_filters": 8},
    "sinc_fbank": {"num_filters": 8},
    "leaf": {"num_filters": 8},
    "raw": {"channels": 8},
}
SMALL_BACKBONES = {
    "samplecnn": {"channels": [8, 8, 16, 16, 16, 16, 16, 16, 32]},
    "resnet1d": {"channels": [8, 16, 16, 16, 16, 16, 16, 16, 32]},
    "short_chunk_cnn": {"width": 4},
    "short_chunk_resnet": {"width": 4},
}
