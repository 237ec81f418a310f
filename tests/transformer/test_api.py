"""Transformer tab through the served app (gradio_client): the README's calls and their bad input.

Run: python -m pytest tests/transformer/test_api.py -x -q
"""

from __future__ import annotations

import pytest

from apps.transformer import infer, spec

DOG_SENTENCE, CAT_SENTENCE = spec.EXAMPLE_SENTENCES


def test_api_classify_sentiment(client):
    label, frozen, notes = client.predict("an utterly charming and funny film", api_name="/classify_sentiment")
    assert label["label"] == "positive"
    assert {c["label"] for c in label["confidences"]} == {"positive", "negative"}


def test_api_generate_text(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="from 1 to 100"):  # the number box's range, in the app's one sentence
        client.predict("The secret of life is", 100_000, 0.8, 7, api_name="/generate_text")
    text, *rest = client.predict("The secret of life is", 100, 0.8, 7, api_name="/generate_text")
    assert text.startswith("The secret of life is") and len(text) > len("The secret of life is")


def test_api_generate_text_then_explain_generation(client):
    """generate_text answers with the text and its per-step table (no figures); explain_generation,
    given the same inputs, draws the figures of exactly that text."""
    args = ("The secret of life is", 25, 0.9, 11, 40)
    text, steps, notes = client.predict(*args, api_name="/generate_text")
    expected = infer.generate(args[0], args[1], args[2], args[4], args[3])
    assert text == expected.text
    assert [row[1] for row in steps["data"]] == [repr(s.token) for s in expected.steps]
    probs, attention = client.predict(*args, api_name="/explain_generation")
    for plot in (probs, attention):
        assert plot["type"] == "matplotlib" and plot["plot"].startswith("data:image/")


def test_api_bad_input_is_a_clear_error_and_the_app_keeps_serving(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="empty"):
        client.predict("   ", api_name="/classify_sentiment")
    label, *_ = client.predict("a tedious mess", api_name="/classify_sentiment")
    assert label["label"] == "negative"


def test_api_attention_map(client):
    _plot, focus, _token, summary = client.predict(CAT_SENTENCE, "base", 5, 0, 7, api_name="/attention_map")
    assert "attends most to" in summary
    assert [t["token"] for t in focus][:3] == ["[CLS]", "the", "cat"]


def test_api_attention_heads(client):
    plot, summary, target = client.predict(DOG_SENTENCE, "base", None, None, True,
                                           api_name="/attention_heads")
    assert plot and "link it → dog" in summary and "L5 H5" in summary
    assert "send most tokens, not just *it*, to *dog*" in summary and "L6 H12 (100%)" in summary
    assert "renormalised" in summary and "weights, not explanations" in summary
    assert target["value"] == 2 and ["2: dog", 2] in target["choices"]
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="from 0 to 10"):
        client.predict(DOG_SENTENCE, "base", 99, None, False, api_name="/attention_heads")


@pytest.mark.parametrize("args, message", [
    (("", "base", None, None, False), "empty"),
    (("  \t ", "base", None, None, False), "empty"),
    (("The cat sat", "gpt-9", None, None, False), "gpt-9|choices|Unknown model"),
    (("The cat sat", "base", 99, None, False), "from 0 to 4"),
    (("The cat sat", "base", None, "unicorn", False), "not a token of this sentence"),
    (("The cat sat", "base", -1, None, False), "from 0 to 4"),
])
def test_api_attention_heads_bad_input_is_one_clear_sentence(client, args, message):
    """/attention_heads' own bad-input cases (the map's endpoint has its rows in tests/test_bad_input.py)."""
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message) as info:
        client.predict(*args, api_name="/attention_heads")
    assert "Traceback" not in str(info.value)
    assert client.predict(api_name="/ping") == "ok"


def test_api_refuses_a_seed_outside_its_range(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="maximum|from 0 to 2,147,483,647"):
        client.predict(spec.DEFAULT_PROMPT, 5, 0.8, 2**31, 40, api_name="/generate_text")
