"""Synthesize extra training speech with Debian's espeak-ng and flite (training only, never val/test).

    python -m apps.speech.synth --out /tmp/speech_synth --per-word 120   # ~5 min

Writes <out>/<folder>/synth_<n>_nohash_0.wav in the Speech Commands layout, one voice per clip:
espeak-ng English accents x its ~100 voice variants, with random rate and pitch, and
flite's built-in voices with random duration stretch and mean pitch. Synthetic voices are far
cleaner and more regular than people; they only add accent and timbre variety to the 2,248 real
training clips, and train.py mixes them in with the same noise and speed augmentation.
`_unknown_` gets the same number of clips, spread over other words.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
from pathlib import Path

import soundfile as sf

from apps.speech import data, spec

# The other words of Speech Commands v0.02 (the `_unknown_` class); a synthetic voice never
# says a command word under this label.
OTHER_WORDS = ["backward", "bed", "bird", "cat", "dog", "eight", "five", "follow", "forward", "four",
               "happy", "house", "learn", "marvin", "nine", "one", "seven", "sheila", "six", "three",
               "tree", "two", "visual", "wow", "zero"]
ESPEAK_ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]


def espeak_variants() -> list[str]:
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3] for line in out.splitlines()[1:] if len(line.split()) >= 4]


def say(word: str, rng: random.Random, variants: list[str], path: Path) -> None:
    """One utterance of `word` by a randomly drawn synthetic voice, written to `path`."""
    if rng.random() < 0.75:
        voice = f"{rng.choice(ESPEAK_ACCENTS)}+{rng.choice(variants)}"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rng.randint(110, 230)), "-p", str(rng.randint(15, 85)),
                        "-w", str(path), word], check=True, capture_output=True)
    else:
        subprocess.run(["flite", "-voice", rng.choice(FLITE_VOICES),
                        "--setf", f"duration_stretch={rng.uniform(0.8, 1.4):.2f}",
                        "--setf", f"int_f0_target_mean={rng.randint(85, 230)}",
                        "-t", word, "-o", str(path)], check=True, capture_output=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/speech_synth"))
    parser.add_argument("--per-word", type=int, default=120, help="clips per command word (and for _unknown_)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    variants = espeak_variants()
    jobs = [(w, w) for w in spec.COMMANDS for _ in range(args.per_word)]
    jobs += [("_unknown_", rng.choice(OTHER_WORDS)) for _ in range(args.per_word)]
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (folder, word) in enumerate(jobs):
            raw = Path(tmp) / f"raw{n}.wav"
            try:  # a few voice/setting draws make a synthesizer write nothing: skip those
                say(word, rng, variants, raw)
                samples, rate = sf.read(str(raw), dtype="float32", always_2d=True)
                wave, _ = data.prepare_waveform(samples, rate)
            except (subprocess.CalledProcessError, sf.LibsndfileError, data.BadInput) as error:
                failed.append(f"{word}: {error}")
                continue
            finally:
                raw.unlink(missing_ok=True)
            # Resample to 16 kHz and keep (at most) the loudest second, as for real clips.
            clip = data.loudest_window(wave)[0] if wave.shape[0] > spec.CLIP_SAMPLES else wave
            name = f"{word}_synth{n:05d}_nohash_0.wav" if folder == "_unknown_" else f"synth{n:05d}_nohash_0.wav"
            dest = args.out / folder / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(dest), clip.numpy(), spec.SAMPLE_RATE)
    print(f"{len(failed)} draws failed, e.g. {failed[:3]}")
    print(f"wrote {len(list(args.out.glob('*/*.wav')))} clips under {args.out}")


if __name__ == "__main__":
    main()
