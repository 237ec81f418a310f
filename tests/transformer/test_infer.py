"""Transformer tab, pure functions: input hygiene, the shipped models against their cards,
generation, positional encoding, what each attention head does, and the views drawn from them.

Run: python -m pytest tests/transformer -x -q
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from apps.transformer import data, heads, infer, spec, views
from shared.checkpoints import read_card
from shared.errors import BadInput
from tests.concurrency import run_together

DOG_SENTENCE, CAT_SENTENCE = spec.EXAMPLE_SENTENCES


# --- input hygiene and tokenisation ------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\x00\x01\x7f", None, 42])
def test_unusable_text_is_a_clear_bad_input(text):
    with pytest.raises(BadInput, match="empty|Type some"):
        infer.clean_input(text)


def test_control_characters_are_removed_and_reported():
    text, notes = infer.clean_input("great\x00 film\x1b  \x07")
    assert text == "great film"
    assert any("control character" in n for n in notes)


def test_huge_text_is_truncated_to_the_model_limit_and_says_so():
    result = infer.classify_sentiment("a wonderful film . " * 6_000)  # 114,000 characters
    assert any("first 5,000" in n for n in result.notes)
    assert any(f"first {spec.CLASSIFY_MAX_TOKENS}" in n for n in result.notes)
    assert result.probs["positive"] > 0.5
    maps = infer.attention_maps("word " * 20_000)
    assert len(maps.tokens) == spec.MAX_TOKENS
    assert maps.weights.shape[-1] == spec.MAX_TOKENS


def test_emoji_become_unknown_tokens_and_are_reported():
    tokenizer, _ = infer.minilm()
    assert tokenizer.unk_token in tokenizer.tokenize("i love it 🤩")
    result = infer.classify_sentiment("🤩🤩🤩")
    assert any("[UNK]" in n for n in result.notes)
    assert sum(result.probs.values()) == pytest.approx(1.0, abs=1e-5)


def test_other_scripts_work_and_are_flagged():
    result = infer.classify_sentiment("这部电影非常好看，演员也很出色")
    assert any("Latin alphabet" in n for n in result.notes)
    assert set(result.probs) == {"negative", "positive"}
    maps = infer.attention_maps("Привет мир")
    assert maps.tokens[0] == "[CLS]" and maps.tokens[-1] == "[SEP]"


def test_spec_matches_the_loaded_models():
    """The torch-free facts the UI is built from are the loaded models' own."""
    _, base = infer.minilm()
    assert (base.config.num_hidden_layers, base.config.num_attention_heads, base.config.hidden_size) == \
        (spec.MINILM_LAYERS, spec.MINILM_HEADS, spec.MINILM_HIDDEN)
    assert spec.LAYER.high == spec.MINILM_LAYERS and spec.HEAD.high == len(spec.HEAD_CHOICES) - 1 == spec.MINILM_HEADS
    assert infer.sentiment_model().card["labels"] == list(spec.LABELS)
    assert infer.sentiment_model().card["max_tokens_trained"] == spec.MAX_TOKENS
    tokenizer, model, _ = infer.gpt()
    assert model.config.n_positions == spec.GPT_CONTEXT and len(tokenizer) == spec.GPT_VOCAB


def test_attention_rows_are_probability_distributions():
    maps = infer.attention_maps(DOG_SENTENCE)
    assert maps.tokens[:4] == ["[CLS]", "the", "dog", "chased"]
    layers, n_heads, n, m = maps.weights.shape
    assert (layers, n_heads) == (spec.MINILM_LAYERS, spec.MINILM_HEADS) and n == m == len(maps.tokens)
    np.testing.assert_allclose(maps.weights.sum(-1), 1.0, atol=1e-4)
    tuned = infer.attention_maps(DOG_SENTENCE, "sentiment")
    # Layers without adapters (if any) attend exactly as before; the fine-tuned ones differ.
    first_tuned = infer.sentiment_model().card["lora"]["layers"][0]
    for layer in range(first_tuned):
        np.testing.assert_allclose(tuned.weights[layer], maps.weights[layer], atol=1e-5)
    assert not np.allclose(tuned.weights[-1], maps.weights[-1], atol=1e-3)
    np.testing.assert_allclose(tuned.weights.sum(-1), 1.0, atol=1e-4)


# --- the sentiment model against its card -----------------------------------------------------

@pytest.mark.slow
def test_served_sentiment_model_reaches_its_card_accuracy():
    card = read_card(spec.SENTIMENT_PATH)
    texts, labels = data.read_sentences(spec.HELDOUT_SENTENCES)
    assert len(texts) == card["metrics"]["test_sentences"] == 1000
    accuracy = infer.accuracy_on_file(spec.HELDOUT_SENTENCES)
    assert accuracy >= card["metrics"]["test_accuracy"] - 0.005


@pytest.mark.slow
def test_served_sentiment_model_holds_up_on_restaurant_and_product_reviews():
    card = read_card(spec.SENTIMENT_PATH)
    for name, path in spec.OUT_OF_DOMAIN_FILES.items():
        texts, labels = data.read_sentences(path)
        assert len(texts) == 1000 and labels.sum() == 500, name
        accuracy = infer.accuracy_on_file(path)
        assert accuracy >= card["metrics"]["out_of_domain_accuracy"][name] - 0.005, name
        assert accuracy >= 0.8, name  # trained on movie sentences only, it must still read other reviews


def test_sentiment_card_rank_matches_the_shipped_factors():
    """The adapter's scale is alpha / rank: a card whose rank disagrees with the factors halves or
    doubles the learned update, silently."""
    from safetensors.torch import load_file

    card = read_card(spec.SENTIMENT_PATH)
    factors = {k: v for k, v in load_file(str(spec.SENTIMENT_PATH)).items() if k.endswith(".lora_A")}
    assert factors and {v.shape[0] for v in factors.values()} == {card["lora"]["rank"]}


def test_comparison_table_shows_the_cards_three_approaches_in_a_learners_words():
    card = read_card(spec.SENTIMENT_PATH)
    table = views.comparison_table()
    assert len(table) == len(card["comparison"]) == 3
    assert list(table["accuracy on new sentences"]) == [f"{row['test_accuracy']:.1%}"
                                                        for row in card["comparison"].values()]
    assert list(table["accuracy on validation sentences"]) == [
        f"{row['val_accuracy']:.1%}" if row["val_accuracy"] is not None else "— (trained on them)"
        for row in card["comparison"].values()]
    assert [name.endswith("(served)") for name in table["approach"]] == ["(served)" in n for n in card["comparison"]]
    words = views.comparison_note() + views.accuracy_line() + table.to_string()
    for jargon in (r"trained on val", r"Target", r"\bmet\b", r"r=16", r"--", r"python -m", r"probe"):
        assert not re.search(jargon, words), jargon
    accuracy = card["metrics"]["test_accuracy"]
    assert f"{accuracy:.1%}" in views.accuracy_line()
    assert ("not yet" in views.accuracy_line()) == (accuracy < spec.ACCURACY_GOAL)


def test_sentiment_reads_reviews_from_outside_movies():
    positive = ["Great food, friendly staff, we will definitely come back!",
                "This charger works perfectly and arrived a day early."]
    negative = ["The battery died after two days and support never answered.",
                "Cold fries, rude waiter, and we waited an hour."]
    for text in positive:
        assert infer.classify_sentiment(text).probs["positive"] > 0.5, text
    for text in negative:
        assert infer.classify_sentiment(text).probs["negative"] > 0.5, text


def test_attributions_point_at_the_sentiment_words():
    scores = dict(infer.word_attributions("a dull , lifeless and boring movie").words)
    assert scores["boring"] < 0 and scores["dull"] < 0
    assert min(scores, key=scores.get) in {"dull", "lifeless", "boring"}


def test_attributions_and_answers_stay_right_when_requests_overlap():
    """A room of users: explanations and answers computed at the same time as each other's
    must equal the ones computed alone (a hook on the shared model once mixed them up)."""
    explained, asked = "a dull , lifeless and boring movie", "a gorgeous, witty film"
    alone = infer.word_attributions(explained).words, infer.classify_sentiment(asked).probs
    together = run_together({"attributions": lambda: infer.word_attributions(explained).words,
                             "answer": lambda: infer.classify_sentiment(asked).probs}, rounds=4)
    assert together["attributions"] == [alone[0]] * 4
    assert all(probs == pytest.approx(alone[1], abs=1e-5) for probs in together["answer"])


# --- the tiny GPT ----------------------------------------------------------------------------

def test_gpt_loads_with_from_pretrained_alone():
    from transformers import AutoTokenizer, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(spec.GPT_DIR)
    model = GPT2LMHeadModel.from_pretrained(spec.GPT_DIR)
    ids = tokenizer("Hello world")["input_ids"]
    assert tokenizer.decode(ids) == "Hello world"
    assert model(input_ids=__import__("torch").tensor([ids])).logits.shape[-1] == len(tokenizer)


def test_gpt_heldout_bits_per_char_match_its_card():
    card = read_card(spec.GPT_WEIGHTS)
    bpc = infer.heldout_bits_per_char(spec.HELDOUT_FORTUNES)
    assert bpc == pytest.approx(card["metrics"]["heldout_bits_per_char"], abs=0.02)
    assert bpc < 8.0  # far below uniform guessing over bytes


def test_generation_with_a_fixed_seed_is_reproducible():
    first = infer.generate("The secret of life is", 30, 0.9, 40, seed=7)
    again = infer.generate("The secret of life is", 30, 0.9, 40, seed=7)
    other = infer.generate("The secret of life is", 30, 0.9, 40, seed=8)
    assert first.text == again.text and first.text.startswith("The secret of life is")
    assert first.text != other.text
    assert [s.probability for s in first.steps] == [s.probability for s in again.steps]


def test_generation_steps_and_causal_attention():
    result = infer.generate("Never", 12, 0.0, 0, 0, with_attention=True)  # temperature 0: greedy
    for step in result.steps:
        assert step.token == step.top_5[0][0]  # greedy takes the most likely token
        assert 0 < step.probability <= 1
        assert step.sampling_probability == 1.0
    attention = result.attention
    n = len(result.prompt_tokens) + len(result.new_tokens)
    assert attention.shape[-2:] == (n, n) == (len(result.ids), len(result.ids))
    assert np.allclose(np.triu(attention, k=1), 0)  # nothing looks at the future
    assert infer.generate("Never", 12, 0.0, 0, 0).attention is None  # generating alone skips that pass


def test_lean_forward_matches_transformers_gpt2():
    """The sampler's own forward pass computes what GPT2LMHeadModel computes (logits, attention),
    and its key/value cache gives the same logits as one pass over the whole sequence."""
    import torch

    tokenizer, model, _ = infer.gpt()
    lean, vocab = infer.lean_gpt()
    ids = [tokenizer.eos_token_id] + tokenizer("The secret of life is to laugh")["input_ids"]
    with torch.no_grad():
        reference = model(input_ids=torch.tensor([ids]), output_attentions=True)
    logits, _, maps = lean.forward(ids, attention=True)
    torch.testing.assert_close(logits, reference.logits[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(torch.stack(maps), torch.stack(reference.attentions)[:, 0], atol=1e-5, rtol=1e-4)
    head, cache, _ = lean.forward(ids[:4])
    tail, _, _ = lean.forward(ids[4:], cache)                  # fused attention, one chunk after the cache
    step, _, _ = lean.forward(ids[-1:], lean.forward(ids[:-1])[1], last_only=True)
    torch.testing.assert_close(torch.cat([head, tail]), logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(step[0], logits[-1], atol=1e-4, rtol=1e-4)
    assert vocab[ids[1]] == tokenizer.decode([ids[1]])


def test_sampling_follows_temperature_and_top_k():
    import torch

    logits = torch.tensor([3.0, 2.0, 1.0, 0.0, -1.0])
    generator = torch.Generator().manual_seed(0)
    draws = [infer._sample(logits, 1.0, 2, generator) for _ in range(400)]
    assert {token for token, _ in draws} == {0, 1}                      # top-2 only
    expected = torch.tensor([3.0, 2.0]).softmax(-1)
    for token, p in draws:
        assert p == pytest.approx(float(expected[token]), rel=1e-5)
    assert abs(sum(token == 0 for token, _ in draws) / 400 - float(expected[0])) < 0.08
    assert infer._sample(logits, 0.0, 0, generator) == (0, 1.0)        # greedy
    cold = [infer._sample(logits, 0.05, 0, generator)[0] for _ in range(50)]
    assert set(cold) == {0}                                             # near-greedy when cold


@pytest.mark.parametrize("max_new_tokens, temperature, seed, top_k, message", [
    (0, 1.0, 0, 3, "Max new tokens must be a whole number from 1 to 100"),
    (100_000, 1.0, 0, 3, "from 1 to 100"),
    (-1, 1.0, 0, 3, "from 1 to 100"),
    (1e18, 1.0, 0, 3, "from 1 to 100"),
    ("x", 1.0, 0, 3, "got 'x'"),
    (10, float("nan"), 0, 3, "temperature must be a finite number"),
    (10, 1.0, 0, float("nan"), "Top-k must be a finite number"),
    (10, 1.0, -1, 3, "seed must be a whole number from 0 to 2,147,483,647"),
    (10, 1.0, 2**31, 3, "seed must be a whole number from 0 to 2,147,483,647"),  # refused, not clamped
    (10, 1.0, 1.5, 3, "seed must be a whole number"),
])
def test_out_of_range_generation_settings_are_refused_with_the_range(max_new_tokens, temperature, seed, top_k, message):
    with pytest.raises(BadInput, match=message):
        infer.generate("Once", max_new_tokens, temperature, top_k, seed)


def test_lone_surrogates_are_read_as_replacement_characters():
    result = infer.classify_sentiment("a gorgeous \ud800 witty film")
    assert max(result.probs, key=result.probs.get) == "positive"
    assert infer.generate("Once \ud800", 3, 0.0, 0, 0).text.startswith("Once \ufffd")
    assert infer.attention_maps("it \udfff was").tokens == ["[CLS]", "it", "was", "[SEP]"]  # WordPiece drops U+FFFD
    assert [w for w, _ in infer.word_attributions("a \ud800 good film").words] == ["a", "good", "film"]


def test_odd_prompts_generate_without_crashing():
    assert infer.generate("", 5, 1.0, 40, 1).text is not None  # empty prompt: a new fortune
    long = infer.generate("words " * 20_000, 10, 1.0, 40, 1)
    assert any("5,000" in n for n in long.notes) and any("context keeps" in n for n in long.notes)
    foreign = infer.generate("日本語 😀 \x00", 5, 1.0, 40, 1)
    assert any("plain-ASCII" in n for n in foreign.notes)


# --- positional encoding ------------------------------------------------------------------------

def test_sinusoidal_encoding_properties():
    encoding = infer.positional_encoding(50, 64)
    assert encoding.shape == (50, 64)
    np.testing.assert_allclose(encoding[0, 0::2], 0.0)  # sin(0)
    np.testing.assert_allclose(encoding[0, 1::2], 1.0)  # cos(0)
    similarity = infer.position_similarity(encoding)
    np.testing.assert_allclose(np.diag(similarity), 1.0)
    assert similarity[10, 11] > similarity[10, 30]  # neighbours look alike
    assert len({tuple(np.round(row, 6)) for row in encoding}) == 50  # every position has its own code
    assert infer.positional_encoding(8, 17).shape == (8, 17)  # an odd width is drawn as asked, not rounded


@pytest.mark.parametrize("positions, dims", [(7, 64), (257, 64), (64, 15), (64, 513), (64.5, 64), ("x", 64)])
def test_positional_encoding_refuses_out_of_range_sizes_with_the_range(positions, dims):
    with pytest.raises(BadInput, match=r"from (8 to 256|16 to 512)"):
        infer.positional_encoding(positions, dims)


# --- through the served app -------------------------------------------------------------------

# --- every head at once: what each head does, measured ---------------------------------------

DOG = ["[CLS]", "the", "dog", "chased", "the", "ball", "because", "it", "was", "excited", "[SEP]"]


def _rows_to(columns: list[int], n: int = len(DOG), strength: float = 0.7) -> np.ndarray:
    """A synthetic (n, n) head: row i puts `strength` on columns[i], the rest spread evenly."""
    matrix = np.full((n, n), (1 - strength) / (n - 1))
    for i, c in enumerate(columns):
        matrix[i] = (1 - strength) / (n - 1)
        matrix[i, c] = strength
        matrix[i] /= matrix[i].sum()
    return matrix


@pytest.mark.parametrize("tokens, expected", [
    (DOG, "it"),
    (["[CLS]", "the", "cat", "that", "i", "saw", "yesterday", "was", "sleeping", "[SEP]"], "sleeping"),
    (["[CLS]", "the", "girls", "said", "they", "were", "tired", "[SEP]"], "they"),
    (["[CLS]", "she", "laughed", "and", "he", "smiled", "at", "her", "[SEP]"], "her"),  # the last pronoun
    (["[CLS]", "the", "playground", "##s", "were", "there", "[SEP]"], "playground"),  # a word's first piece
    (["[CLS]", "it", "is", "[SEP]"], "it"),
    (["[CLS]", "of", "the", "[SEP]"], "the"),  # function words only: the last word
])
def test_question_word_rule(tokens, expected):
    assert tokens[heads.question_word(tokens)] == expected


def test_question_word_of_no_word_is_a_valid_index():
    assert heads.question_word(["[CLS]", "[SEP]"]) == 0
    assert heads.question_word(["[CLS]", "!", "[SEP]"]) == 1


def test_noun_like_words_follow_a_determiner():
    assert [DOG[i] for i in heads.noun_like(DOG)] == ["dog", "ball"]
    assert [["[CLS]", "dogs", "bark", "[SEP]"][i] for i in heads.noun_like(["[CLS]", "dogs", "bark", "[SEP]"])] == \
        ["dogs", "bark"]  # no determiner anywhere: every content word


def test_without_special_renormalises_and_keeps_an_all_special_row_at_zero():
    rows = np.array([[0.5, 0.25, 0.25, 0.0], [0.5, 0.0, 0.0, 0.5]])
    plain = heads.without_special(rows, ["[CLS]", "a", "b", "[SEP]"])
    np.testing.assert_allclose(plain, [[0, 0.5, 0.5, 0], [0, 0, 0, 0]])
    assert rows[0, 0] == 0.5  # the input is not changed


@pytest.mark.parametrize("shift, kind, text", [(-1, "previous", "to the previous token"),
                                               (1, "next", "to the next token"), (0, "self", "to itself")])
def test_positional_heads(shift, kind, text):
    n = len(DOG)
    label = heads.head_label(_rows_to([min(max(i + shift, 1), n - 2) for i in range(n)]), DOG, 7, 2)
    assert (label.kind, label.text) == (kind, text)
    assert not label.links


def test_a_head_that_parks_on_cls_and_sep_is_a_no_op():
    label = heads.head_label(_rows_to([0 if i % 2 else 10 for i in range(len(DOG))], strength=0.9), DOG, 7, 2)
    assert label.kind == "special" and "no-op" in label.text
    assert not label.links  # "it" itself hardly looks at any word


def test_one_word_from_everywhere_is_not_a_link():
    """Layer 6 head 12 of MiniLM sends every token to "dog": right for "it" by accident only."""
    label = heads.head_label(_rows_to([2 if i != 2 else 3 for i in range(len(DOG))]), DOG, 7, 2)
    assert label.kind == "one word" and label.common == 2
    assert label.text == "to one word from everywhere (dog)"
    assert label.top == 2 and not label.links
    assert heads.short_text(label, DOG) == "all → dog"


def test_it_looking_at_dog_alone_is_a_link():
    columns = [min(i + 1, 9) for i in range(len(DOG))]  # a mixed head ...
    columns[7], columns[3], columns[5] = 2, 8, 1        # ... where "it" looks at "dog"
    columns[1], columns[9] = 4, 6
    label = heads.head_label(_rows_to(columns), DOG, 7, 2)
    assert label.links and label.kind == "links" and label.text == "links it → dog"
    assert label.weight == pytest.approx(0.7 / (0.7 + 8 * 0.3 / 10), rel=1e-6)  # [CLS]/[SEP] left out
    assert heads.short_text(label, DOG) == "links → dog"
    # the same head, asked about "ball", links nothing; asked about nothing, neither
    assert not heads.head_label(_rows_to(columns), DOG, 7, 5).links
    assert not heads.head_label(_rows_to(columns), DOG, 7, None).links


def test_labels_are_argmax_based_so_tiny_float_differences_do_not_change_them():
    columns = [min(i + 1, 9) for i in range(len(DOG))]
    columns[7] = 2
    matrix = _rows_to(columns)
    noise = np.random.default_rng(0).uniform(-1e-5, 1e-5, matrix.shape)
    def what(label):
        return label.kind, label.text, label.links, label.top, label.common

    assert what(heads.head_label(matrix, DOG, 7, 2)) == what(heads.head_label(matrix + noise, DOG, 7, 2))


def test_default_target_is_the_earlier_noun_it_attends_to_most():
    weights = np.full((2, 3, len(DOG), len(DOG)), 1 / len(DOG))
    weights[..., 7, 5] += 0.05   # a little more to "ball" than to "dog"
    assert DOG[heads.default_target(DOG, weights, 7)] == "ball"
    weights[0, 0, 7, 2] += 1.0
    assert DOG[heads.default_target(DOG, weights, 7)] == "dog"
    assert heads.default_target(["[CLS]", "it", "[SEP]"], weights[..., :3, :3], 1) is None


@pytest.mark.parametrize("value, expected", [(None, 7), ("", 7), (2, 2), ("2", 2), ("2: dog", 2), (2.0, 2),
                                             ("dog", 2), ("DOG", 2)])
def test_resolve_token(value, expected):
    assert heads.resolve_token(value, DOG, 7, "The token") == expected


@pytest.mark.parametrize("value", [11, -1, "99", "cat", [1], True, 2.5])
def test_resolve_token_refuses_with_the_range(value):
    with pytest.raises(BadInput, match="token"):
        heads.resolve_token(value, DOG, 7, "The token")


def test_the_map_and_the_grid_share_one_forward_pass():
    text = "The bird ate the worm because it was hungry"
    first = infer.attention_maps(text)
    hits = infer._attention_forward.cache_info().hits
    grid = infer.attention_heads(text)
    assert infer._attention_forward.cache_info().hits == hits + 1
    assert infer.attention_maps(text).weights is first.weights and not first.weights.flags.writeable
    np.testing.assert_array_equal(grid.rows, first.weights[:, :, grid.query])
    assert infer._attention_forward.cache_info().maxsize == infer.ATTENTION_CACHE


def test_real_minilm_links_it_to_dog_and_says_which_head_only_looks_at_dog():
    """Measured on MiniLM (base): "it" is the default token, "dog" the default target; 5 heads link
    it -> dog: L3 H6, L3 H11, L5 H5, L5 H12, L6 H9. In L5 H5 and L5 H12 dog beats the next word by
    0.19 and 0.18 of the renormalised weight, in L3 H6 by 0.11, and "it" parks 71 % there (the
    no-op threshold is 75 %): margins far above the 1e-5 by which CPUs differ, so those three are
    asserted. L3 H11 wins by only 0.0004, so it may come or go on another machine. L4 H8, L5 H9 and
    L6 H12 send most tokens to "dog" (L6 H12: every token), so they are one-word heads, not links."""
    result = infer.attention_heads(DOG_SENTENCE)
    assert result.tokens[result.query] == "it" and result.tokens[result.target] == "dog"
    flagged = {(layer + 1, h + 1) for layer, row in enumerate(result.labels) for h, x in enumerate(row) if x.links}
    assert {(3, 6), (5, 5), (5, 12)} <= flagged <= {(3, 6), (3, 11), (5, 5), (5, 12), (6, 9)}
    last = result.labels[5][11]
    assert last.kind == "one word" and last.common == result.tokens.index("dog") and not last.links
    assert last.text == "to one word from everywhere (dog)"
    cat = infer.attention_heads(CAT_SENTENCE)
    assert cat.tokens[cat.query] == "sleeping" and cat.tokens[cat.target] == "cat"


def test_show_attention_starts_on_the_question_word():
    from apps.transformer.tab import show_attention

    _, _, token, summary = show_attention(DOG_SENTENCE, "base", 5, 0, None)
    assert token.value == 7 and summary.startswith("**it** attends most to")


def test_attention_map_ranks_the_query_row_and_refuses_out_of_range_choices():
    result = infer.attention_map(DOG_SENTENCE, "base", 5, 5)
    assert result.tokens[result.query] == "it"
    row = result.matrix[result.query]
    assert [w for _, w in result.top] == sorted(row, reverse=True)[:3]
    assert result.tokens[result.top_word] == "dog"  # L5 H5 links it -> dog
    np.testing.assert_allclose(infer.attention_map(DOG_SENTENCE, "base", 2, 0).matrix,
                               infer.attention_maps(DOG_SENTENCE).weights[1].mean(0))
    for layer, head, token, message in [(0, 0, None, "layer must be a whole number from 1 to 6"),
                                        (7, 0, None, "from 1 to 6"), (3, 13, None, "from 0 to 12"),
                                        (3, -1, None, "from 0 to 12"), (3, 0, 11, "from 0 to 10")]:
        with pytest.raises(BadInput, match=message):
            infer.attention_map(DOG_SENTENCE, "base", layer, head, token)


def test_arrival_views_show_the_default_sentence_on_its_strongest_it_to_dog_head():
    """The attention explorer opens on "it", on the head that links it to "dog" most strongly, with
    the grid beside it; all four views answer their default input before any click."""
    from apps.transformer import tab

    plot, focus, token, summary, grid, grid_summary, target, layer, head = tab.attention_on_arrival()
    assert token.value == 7 and target.value == 2 and summary.startswith("**it** attends most to")
    assert "**dog**" in summary
    assert (layer, head) == views.strongest_link(infer.attention_heads(DOG_SENTENCE))
    assert infer.attention_heads(DOG_SENTENCE).labels[layer - 1][head - 1].links
    assert "link it → dog" in grid_summary and grid is not None and plot is not None
    tuned, frozen, _, words = tab.sentiment_on_arrival()
    assert max(tuned, key=tuned.get) == "positive" and words
    text, steps, _, confidence, causal = tab.gpt_on_arrival()
    assert text == tab.gpt_on_arrival()[0] and text.startswith(spec.DEFAULT_PROMPT) and len(steps) > 0
    encoding, similarity = tab.show_positional_encoding(spec.POSITIONS.default, spec.DIMENSIONS.default)
    assert encoding is not None and similarity is not None


def _smallest_label_px(fig) -> float:
    """The smallest tick label of a figure, in pixels at its natural size."""
    sizes = [t.get_fontsize() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
    return min(sizes) * fig.dpi / 72


def test_every_heat_map_label_is_at_least_11_px_at_natural_size():
    grid = infer.attention_heads(DOG_SENTENCE)
    generation = infer.generate(spec.DEFAULT_PROMPT, 20, 0.8, 40, 0, with_attention=True)
    encoding = infer.positional_encoding(64, 128)
    figures = [views.attention_figure(infer.attention_map(DOG_SENTENCE, "base", 5, 5)),
               views.heads_figure(grid, False), views.heads_figure(grid, True),
               views.confidence_figure(generation), views.causal_attention_figure(generation),
               views.encoding_figure(encoding), views.similarity_figure(infer.position_similarity(encoding))]
    for fig in figures:
        assert _smallest_label_px(fig) >= 11, fig.axes[0].get_title()
