"""The bad-input matrix: every public endpoint that takes input gets at least five bad inputs
through the API. Each must come back as one clear message (a gr.Error), never a traceback, and
the server must still answer a normal request afterwards.

Endpoints without inputs (latent_map, rbm_dbn_summary, show_som, ping) cannot be sent bad input.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

# ---------------------------------------------------------------- bad files, made once per session


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height pixels: a decompression bomb for a naive reader."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 8, 9)  # far fewer rows than claimed
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("bad")
    files: dict[str, bytes] = {
        "empty.png": b"",
        "text.png": b"this is not an image at all\n" * 20,
        "truncated.png": _valid_png()[:60],
        "bomb.png": _png_header_claiming(40_000, 40_000),
        "empty.wav": b"",
        "text.wav": b"RIFF but not really a wave file" * 10,
        "random.flac": np.random.default_rng(0).integers(0, 255, 4000, dtype=np.uint8).tobytes(),
        "zeros.wav": _wav(np.zeros(16000, dtype=np.int16)),
        "nan.wav": _wav_float(np.full(16000, np.nan, dtype=np.float32)),
        "empty.csv": b"",
        "text_only.csv": b"name,comment\nalice,hello\nbob,world\n" * 10,
        "bad_dates.csv": b"date,value\n" + b"".join(b"not-a-date-%d,%d\n" % (i, i) for i in range(60)),
        "too_short.csv": b"date,value\n2020-01-01,1\n2020-02-01,2\n",
        "binary.csv": bytes(range(256)) * 40,
        "..%2F..%2Fetc%2Fpasswd.csv": b"",
        "image_as.csv": _valid_png(),
    }
    paths = {}
    for name, data in files.items():
        path = d / name
        path.write_bytes(data)
        paths[name] = str(path)
    return paths


def _valid_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    import soundfile as sf
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _wav_float(samples: np.ndarray, rate: int = 16000) -> bytes:
    """A float WAV written by hand (soundfile refuses NaN): header + raw IEEE floats."""
    data = samples.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)


def _sketch(path: str | None) -> dict:
    return {"background": None, "layers": [], "composite": handle_file(path) if path else None, "id": None}


# ---------------------------------------------------------------- the matrix
# endpoint -> list of (case id, function from the `bad` files to the call's arguments)
MATRIX = {
    "/classify_image": [
        ("empty file", lambda b: (handle_file(b["empty.png"]), "fashion")),
        ("text named .png", lambda b: (handle_file(b["text.png"]), "digits")),
        ("truncated png", lambda b: (handle_file(b["truncated.png"]), "imagenet")),
        ("decompression bomb", lambda b: (handle_file(b["bomb.png"]), "imagenet")),
        ("audio file as image", lambda b: (handle_file(b["zeros.wav"]), "fashion")),
        ("no image", lambda b: (None, "fashion")),
    ],
    "/explain_vit": [
        ("empty file", lambda b: (handle_file(b["empty.png"]),)),
        ("text named .png", lambda b: (handle_file(b["text.png"]),)),
        ("decompression bomb", lambda b: (handle_file(b["bomb.png"]),)),
        ("audio file as image", lambda b: (handle_file(b["zeros.wav"]),)),
        ("no image", lambda b: (None,)),
    ],
    "/recognize_speech": [
        ("empty file", lambda b: (handle_file(b["empty.wav"]),)),
        ("text named .wav", lambda b: (handle_file(b["text.wav"]),)),
        ("random bytes .flac", lambda b: (handle_file(b["random.flac"]),)),
        ("all zeros", lambda b: (handle_file(b["zeros.wav"]),)),
        ("NaN samples", lambda b: (handle_file(b["nan.wav"]),)),
        ("image as audio", lambda b: (handle_file(b["truncated.png"]),)),
        ("no audio", lambda b: (None,)),
    ],
    "/forecast_csv": [
        ("empty file", lambda b: (handle_file(b["empty.csv"]), 12)),
        ("no numeric column", lambda b: (handle_file(b["text_only.csv"]), 12)),
        ("non-parseable dates", lambda b: (handle_file(b["bad_dates.csv"]), 12)),
        ("too short", lambda b: (handle_file(b["too_short.csv"]), 12)),
        ("binary junk", lambda b: (handle_file(b["binary.csv"]), 12)),
        ("image as csv", lambda b: (handle_file(b["image_as.csv"]), 12)),
        ("hostile name", lambda b: (handle_file(b["..%2F..%2Fetc%2Fpasswd.csv"]), 12)),
        ("horizon 0", lambda b: (handle_file(b["bad_dates.csv"]), 0)),
    ],
    "/forecast_dataset": [
        ("unknown series", lambda b: ("no such series", 12)),
        ("horizon 0", lambda b: ("co2 (Mauna Loa, monthly ppm)", 0)),
        ("negative horizon", lambda b: ("co2 (Mauna Loa, monthly ppm)", -5)),
        ("huge horizon", lambda b: ("co2 (Mauna Loa, monthly ppm)", 100_000)),
        ("empty name", lambda b: ("", 12)),
    ],
    "/explain_forecast": [
        ("unknown series", lambda b: ("no such series", 12)),
        ("horizon 0", lambda b: ("co2 (Mauna Loa, monthly ppm)", 0)),
        ("negative horizon", lambda b: ("co2 (Mauna Loa, monthly ppm)", -5)),
        ("huge horizon", lambda b: ("co2 (Mauna Loa, monthly ppm)", 100_000)),
        ("empty name", lambda b: ("", 12)),
        ("none as name", lambda b: (None, 12)),
    ],
    "/train_memory": [
        ("length too short", lambda b: (1, ["rnn"], 5)),
        ("length too long", lambda b: (100_000, ["rnn"], 5)),
        ("no cells", lambda b: (20, [], 5)),
        ("unknown cell", lambda b: (20, ["mamba"], 5)),
        ("time over the cap", lambda b: (20, ["rnn"], 10_000)),
        ("text as length", lambda b: ("abc", ["rnn"], 5)),
    ],
    "/inspect_memory": [
        ("unknown trained length", lambda b: ("7", 20, 0)),
        ("length too short", lambda b: ("100", 0, 0)),
        ("length too long", lambda b: ("100", 1_000_000, 0)),
        ("negative length", lambda b: ("100", -3, 0)),
        ("text as length", lambda b: ("100", "ten", 0)),
    ],
    "/explain_memory": [
        ("unknown trained length", lambda b: ("7", 20, 0)),
        ("length too short", lambda b: ("100", 0, 0)),
        ("length too long", lambda b: ("100", 1_000_000, 0)),
        ("negative seed", lambda b: ("100", 20, -1)),
        ("text as length", lambda b: ("100", "ten", 0)),
    ],
    "/sample_task": [
        ("length too short", lambda b: (0, 0)),
        ("length too long", lambda b: (1_000_000, 0)),
        ("negative length", lambda b: (-10, 0)),
        ("text as length", lambda b: ("long", 0)),
        ("text as seed", lambda b: (20, "seed")),
    ],
    "/classify_sentiment": [
        ("empty", lambda b: ("",)),
        ("whitespace", lambda b: ("   \n\t  ",)),
        ("control characters only", lambda b: ("\x00\x01\x02\x1b",)),
        ("none", lambda b: (None,)),
        ("zero-width only", lambda b: ("\u200b\u200b\u200b",)),
    ],
    "/attention_map": [
        ("empty", lambda b: ("", "base", 3, "0", 0)),
        ("whitespace", lambda b: ("  \t ", "base", 3, "0", 0)),
        ("unknown model", lambda b: ("The cat sat", "gpt-9", 3, "0", 0)),
        ("layer out of range", lambda b: ("The cat sat", "base", 99, "0", 0)),
        ("head out of range", lambda b: ("The cat sat", "base", 3, "99", 0)),
    ],
    "/generate_text": [
        ("text as temperature", lambda b: ("Once", 10, "hot", 0, 40)),
        ("negative temperature", lambda b: ("Once", 10, -1.0, 0, 40)),
        ("text as top-k", lambda b: ("Once", 10, 0.8, 0, "all")),
        ("control characters only", lambda b: ("\x00\x01\x02", 10, 0.8, 0, 40)),
        ("text as max_new_tokens", lambda b: ("Once", "many", 0.8, 0, 40)),
    ],
    "/describe_architecture": [
        ("unknown name", lambda b: ("ResNet-5000",)),
        ("empty", lambda b: ("",)),
        ("none", lambda b: (None,)),
        ("path-like", lambda b: ("../../etc/passwd",)),
        ("very long", lambda b: ("x" * 10_000,)),
    ],
    "/measure_latency": [
        ("unknown name", lambda b: (["ResNet-5000"],)),
        ("empty list", lambda b: ([],)),
        ("all ten at once (over the time cap)", lambda b: (["AlexNet", "VGG-16", "Inception-v1 (GoogLeNet)",
                                                            "Inception-v3", "ResNet-50", "Xception", "Inception-v4",
                                                            "Inception-ResNet-v2", "ResNeXt-50 (32×4d)"],)),
        ("path-like", lambda b: (["../../etc/passwd"],)),
        ("none", lambda b: (None,)),
    ],
    "/classify_digit": [
        ("empty sketch", lambda b: (_sketch(None),)),
        ("corrupt image", lambda b: (_sketch(b["truncated.png"]),)),
        ("text as image", lambda b: (_sketch(b["text.png"]),)),
        ("decompression bomb", lambda b: (_sketch(b["bomb.png"]),)),
        ("none", lambda b: (None,)),
    ],
    "/decode_latent": [
        ("text", lambda b: ("left", 0.0)),
        ("list", lambda b: ([1, 2], 0.0)),
        ("far outside the map", lambda b: (1e9, -1e9)),
        ("none", lambda b: (None, 0.0)),
        ("both text", lambda b: ("a", "b")),
    ],
    "/dsn_explore": [
        ("negative index", lambda b: (-1,)),
        ("index too large", lambda b: (10**9,)),
        ("text", lambda b: ("seven",)),
        ("fractional", lambda b: (2.5,)),
        ("none", lambda b: (None,)),
    ],
    "/denoise": [
        ("negative index", lambda b: (-1, 0.3)),
        ("index too large", lambda b: (10**9, 0.3)),
        ("negative noise", lambda b: (3, -1.0)),
        ("text noise", lambda b: (3, "loud")),
        ("huge noise", lambda b: (3, 1e6)),
    ],
    "/gibbs_sample": [
        ("zero steps", lambda b: (0, "random noise", 0)),
        ("too many steps", lambda b: (10**9, "random noise", 0)),
        ("unknown start", lambda b: (100, "a cat", 0)),
        ("bad digit index", lambda b: (100, "a held-out digit", 10**9)),
        ("text steps", lambda b: ("many", "random noise", 0)),
    ],
    "/train_som": [
        ("unknown data set", lambda b: ("faces", 12, 500)),
        ("size zero", lambda b: ("colours", 0, 500)),
        ("huge map", lambda b: ("colours", 10_000, 500)),
        ("too many steps", lambda b: ("colours", 12, 10**9)),
        ("text size", lambda b: ("colours", "big", 500)),
    ],
}
# Whisper takes any audio file: the same bad files as the speech commands.
MATRIX["/transcribe_speech"] = MATRIX["/recognize_speech"]
# The views that follow an answer take the same inputs as the answer: the same bad inputs.
for answer, views in {"/recognize_speech": "/explain_speech", "/generate_text": "/explain_generation",
                      "/describe_architecture": "/explain_architecture",
                      "/transcribe_speech": "/explain_transcription"}.items():
    MATRIX[views] = MATRIX[answer]

# A normal request per endpoint family, to prove the server is still healthy afterwards.
HEALTHY = ("/ping", ())


def _cases():
    for endpoint, cases in MATRIX.items():
        for case_id, make_args in cases:
            yield pytest.param(endpoint, make_args, id=f"{endpoint[1:]}: {case_id}")


@pytest.fixture(scope="module")
def available(client) -> set[str]:
    return set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])


def test_every_endpoint_with_inputs_is_in_the_matrix(available, client):
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    exempt = {"/ping", "/latent_map", "/rbm_dbn_summary", "/show_som"}
    missing = sorted(n for n in available - set(MATRIX) - exempt if info[n]["parameters"])
    # Endpoints not in the matrix must at least be covered by their tab's own bad-input tests.
    covered_elsewhere = {"/explain_image", "/classify_sketch", "/teach_classes", "/classify_taught",
                         "/shipped_curves", "/explain_sentiment", "/positional_encoding",
                         "/compare_architectures", "/reconstruct", "/interpolate",
                         "/attention_heads"}
    assert set(missing) <= covered_elsewhere, missing
    for endpoint, cases in MATRIX.items():
        assert len(cases) >= 5, endpoint


@pytest.mark.parametrize("endpoint, make_args", list(_cases()))
def test_bad_input_gets_a_clear_message_and_the_server_keeps_serving(client, available, bad, endpoint, make_args):
    if endpoint not in available:
        pytest.fail(f"{endpoint} is not served")
    with pytest.raises(AppError) as info:
        client.predict(*make_args(bad), api_name=endpoint)
    message = str(info.value)
    assert len(message.strip()) > 10, f"no clear message: {message!r}"
    for leak in ("Traceback", 'File "/', "site-packages"):
        assert leak not in message, message
    assert client.predict(*HEALTHY[1], api_name=HEALTHY[0]) == "ok"


# ---------------------------------------------------------------- forecast: hostile CSVs (issue 21)
# Small files that claim a lot: each must be refused with one sentence, fast, through the API.

def _hostile_csvs(d: Path) -> dict[str, Path]:
    dates = [f"2020-01-01 {i // 60:02d}:{i % 60:02d}" for i in range(200)]
    dates[5] = "1700-01-01 00:00"  # one mistyped year: a span of 168 million minutes
    texts = {
        "letters": "abcdefghijklmnopqrstuvwxyz" * 40_000,  # one 1 MB line: no delimiter in it
        "200k columns": "\n".join(",".join(f"{i:08d}" for i in range(200_000)) for _ in range(2)),
        "10k columns": ",".join("1" * 10_000) + "\n" + ",".join("2" * 10_000) + "\n",
        "1700 minute": "date,value\n" + "".join(f"{t},{i}\n" for i, t in enumerate(dates)),
    }
    paths = {}
    for name, text in texts.items():
        paths[name] = d / (name.replace(" ", "_") + ".csv")
        paths[name].write_text(text)
    return paths


@pytest.fixture(scope="module")
def hostile_csvs(tmp_path_factory) -> dict[str, Path]:
    return _hostile_csvs(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("name, message", [("letters", "longer than 64 KB"), ("200k columns", "longer than 64 KB"),
                                           ("10k columns", "limit is 50"), ("1700 minute", "limit")])
def test_forecast_hostile_csv_is_refused_fast(client, hostile_csvs, name, message):
    import time

    start = time.monotonic()
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(hostile_csvs[name])), 12, api_name="/forecast_csv")
    assert time.monotonic() - start < 20  # refused in well under a second in-process; the rest is the queue
    assert client.predict(*HEALTHY[1], api_name=HEALTHY[0]) == "ok"


@pytest.mark.parametrize("horizon, message", [(0, "from 1 to"), (10**9, "from 1 to"),
                                              (500, "at most .* steps for this series")])
def test_forecast_horizon_beyond_what_the_series_allows(client, tmp_path, horizon, message):
    path = tmp_path / "monthly.csv"
    path.write_text("month,value\n" + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d}-01,{i % 12 + i / 10}\n"
                                              for i in range(120)))
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(path)), horizon, api_name="/forecast_csv")
    assert client.predict(*HEALTHY[1], api_name=HEALTHY[0]) == "ok"
