"""One typical request per model endpoint, for the benchmarks (callables, so files are wrapped fresh)."""

from __future__ import annotations

from pathlib import Path

from gradio_client import handle_file

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "apps" / "cnn" / "assets" / "temple.jpg"
CLOTHES = ROOT / "apps" / "cnn" / "assets" / "fashion_ankle_boot.png"
CLIP = ROOT / "apps" / "speech" / "assets" / "yes_b49caed3_nohash_2.flac"

ENDPOINTS = {
    "/classify_image": lambda: (handle_file(str(CLOTHES)), "fashion"),
    "/classify_image (imagenet)": lambda: (handle_file(str(PHOTO)), "imagenet"),
    "/recognize_speech": lambda: (handle_file(str(CLIP)),),
    "/forecast_dataset": lambda: ("co2 (Mauna Loa, monthly ppm)", 24),
    "/sample_task": lambda: (100, 0),
    "/inspect_memory": lambda: (100, 100, 0),
    "/classify_sentiment": lambda: ("a gorgeous, witty, seductive movie.",),
    "/generate_text": lambda: ("The secret of life is", 40, 0.8, 19),  # seed 19 runs all 40 tokens
    "/describe_architecture": lambda: ("ResNet-50",),
    "/classify_digit": None,  # needs a drawn image: covered by the browser tests, not benchmarked
}
ENDPOINTS = {name: args for name, args in ENDPOINTS.items() if args is not None}

# The "inside the model" views that each tab chains after its answer (.success): the user sees the
# answer first and these fill in after. Measured and reported too, against no target of the issue's.
EXPLANATIONS = {
    "/explain_image": lambda: (handle_file(str(CLOTHES)), "fashion"),
    "/explain_image (imagenet)": lambda: (handle_file(str(PHOTO)), "imagenet"),
    "/explain_speech": lambda: (handle_file(str(CLIP)),),
    "/explain_sentiment": lambda: ("a gorgeous, witty, seductive movie.",),
    "/explain_generation": lambda: ("The secret of life is", 40, 0.8, 19),
    "/explain_architecture": lambda: ("ResNet-50",),
    "/explain_memory": lambda: (100, 100, 0),
    "/explain_forecast": lambda: ("co2 (Mauna Loa, monthly ppm)", 24),
}

# Answers with no latency target: Whisper tiny.en reads a 30-s window through a 39 M-parameter
# encoder-decoder whatever the clip's length. Measured so that the peak memory includes it.
UNTARGETED = {
    "/transcribe_speech": lambda: (handle_file(str(CLIP)),),
    "/explain_transcription": lambda: (handle_file(str(CLIP)),),
}

# Endpoints backed by the large pretrained models (EfficientNet-Lite0, MiniLM): a looser latency target.
LARGE_PRETRAINED = {"/classify_image (imagenet)", "/classify_sentiment"}


def api_name(name: str) -> str:
    """'/classify_image (imagenet)' -> '/classify_image': a label may name a variant of a request."""
    return name.split(" ")[0]
