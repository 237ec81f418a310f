"""What each attention head does on one sentence, measured from its weights (pure numpy, no model).

    question_word(tokens)                       -> index of the token worth asking about ("it", "sleeping")
    default_target(tokens, weights, query)      -> the earlier noun-like word that token attends to most
    head_label(matrix, tokens, query, target)   -> HeadLabel(kind, text, links, ...) for one (T, T) head
    label_heads(weights, tokens, query, target) -> a (layers, heads) grid of HeadLabel
    without_special(rows, tokens)               -> rows with [CLS]/[SEP] set to 0 and renormalised

Every label is argmax-based (which column wins a row), so a 1e-5 difference in the weights between
CPUs cannot change it unless two columns tie to 1e-5. Tokens are WordPiece tokens with [CLS]/[SEP].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPECIAL = frozenset({"[CLS]", "[SEP]", "[PAD]"})
# Third-person pronouns: the words whose meaning comes from another word of the sentence. "I",
# "you", "we" point outside the sentence and relative "that"/"which" to the word just before.
PRONOUNS = frozenset("it its itself they them their theirs themselves she her hers herself he him his himself".split())
DETERMINERS = frozenset("the a an this that these those my your his her its our their some every each no".split())
FUNCTION_WORDS = frozenset("""
    a an the this that these those and or but nor so yet because if when while although though since
    until as than then of to in on at by for with from into onto over under about after before between
    through during without within up down out off i me my mine you your yours we us our ours it its
    they them their he him his she her who whom whose which what where why how
    is am are was were be been being do does did done have has had having will would shall should can
    could may might must not no yes very too also just only there here all any some each every
""".split())

MOST = 0.5    # "most rows": more than half of the rows that can vote
PARKED = 0.75  # a head that puts this much of its weight on [CLS]/[SEP] is a no-op head


def is_special(token: str) -> bool:
    return token in SPECIAL


def _is_word(token: str) -> bool:
    """A whole word or a word's first piece (not a '##' continuation, not punctuation or a number)."""
    return not is_special(token) and not token.startswith("##") and any(c.isalpha() for c in token)


def is_content_word(token: str) -> bool:
    return _is_word(token) and token.lower() not in FUNCTION_WORDS


def question_word(tokens: list[str]) -> int:
    """The token a learner should ask "what does it look at?" about. The rule, in order:
    1. the last third-person pronoun ("it", "they", "she", ...): its meaning is another word;
    2. else the last content word (not a function word such as "the", "was", "because");
    3. else the last word; else the first token that is not [CLS]/[SEP]; else 0."""
    words = [i for i, t in enumerate(tokens) if _is_word(t)]
    for rule in (lambda i: tokens[i].lower() in PRONOUNS, lambda i: is_content_word(tokens[i]), lambda i: True):
        chosen = [i for i in words if rule(i)]
        if chosen:
            return chosen[-1]
    plain = [i for i, t in enumerate(tokens) if not is_special(t)]
    return plain[0] if plain else 0


def noun_like(tokens: list[str]) -> list[int]:
    """Indices of noun-like words: a content word right after a determiner ("the dog", "a ball");
    when the sentence has none, every content word."""
    after_determiner = [i for i in range(1, len(tokens))
                        if is_content_word(tokens[i]) and tokens[i - 1].lower() in DETERMINERS]
    return after_determiner or [i for i, t in enumerate(tokens) if is_content_word(t)]


def without_special(rows: np.ndarray, tokens: list[str]) -> np.ndarray:
    """Attention rows (..., T) with [CLS]/[SEP] columns set to 0 and each row renormalised to sum 1
    (a row that had everything on them stays all 0)."""
    rows = np.array(rows, dtype=float, copy=True)
    rows[..., [i for i, t in enumerate(tokens) if is_special(t)]] = 0.0
    total = rows.sum(-1, keepdims=True)
    return np.divide(rows, total, out=np.zeros_like(rows), where=total > 0)


def default_target(tokens: list[str], weights: np.ndarray, query: int) -> int | None:
    """The earlier noun-like word that `query` attends to most, averaged over every layer and head
    (with [CLS]/[SEP] left out); a later one if none comes earlier; None if the sentence has none.
    weights: (layers, heads, T, T)."""
    candidates = [i for i in noun_like(tokens) if i < query] or [i for i in noun_like(tokens) if i != query]
    if not candidates:
        return None
    mean = without_special(np.asarray(weights)[..., query, :], tokens).reshape(-1, len(tokens)).mean(0)
    return max(candidates, key=lambda i: (mean[i], -i))


@dataclass(frozen=True)
class HeadLabel:
    kind: str            # "previous", "next", "self", "special", "one word", "links", "mixed"
    text: str            # what the grid and the summary say
    links: bool          # the query's top word (besides itself, [CLS]/[SEP] left out) is the target, and
                         # the head does not send most tokens there anyway
    top: int             # that top word's index
    weight: float        # the query's weight on the target, [CLS]/[SEP] left out and renormalised
    share: float         # share of the rows that vote for the winning pattern
    common: int | None = None  # "one word": the word most rows pick


def head_label(matrix: np.ndarray, tokens: list[str], query: int, target: int | None) -> HeadLabel:
    """Label one head (a (T, T) matrix, row = token looking) by what it does on this sentence.

    Only the rows of real tokens count ([CLS]/[SEP] rows are left out). In order:
      "special"  on average those rows put >= 75 % of their weight on [CLS]/[SEP]: a no-op head;
    then, with [CLS]/[SEP] left out and the rows renormalised, by each row's argmax:
      "previous" / "next" / "self": more than half the rows' argmax is i-1 / i+1 / i;
      "one word": more than half the other rows' argmax is the same word ("from everywhere");
      "links":   none of those, and the query's top word (itself left out) is the target;
      "mixed":   none of the above.
    `links` is also reported beside a positional pattern, never when the target is every token's
    top word (that head looks at one word whatever the token: not coreference), and never when the
    query itself puts >= 75 % on [CLS]/[SEP] (then it hardly looks at any word).
    """
    matrix = np.asarray(matrix, dtype=float)
    rows = [i for i, t in enumerate(tokens) if not is_special(t)]
    special_cols = [i for i, t in enumerate(tokens) if is_special(t)]
    if not rows:
        return HeadLabel("mixed", "nothing to measure", False, query, 0.0, 0.0)
    parked = float(matrix[rows][:, special_cols].sum(-1).mean()) if special_cols else 0.0
    query_parked = float(matrix[query, special_cols].sum()) if special_cols else 0.0
    plain = without_special(matrix, tokens)
    voting = [i for i in rows if plain[i].sum() > 0]
    argmax = {i: int(plain[i].argmax()) for i in voting}
    shares = {kind: (np.mean([argmax[i] == i + step for i in voting]) if voting else 0.0)
              for kind, step in (("previous", -1), ("next", 1), ("self", 0))}
    # The word that most rows other than its own pick ("to one word from everywhere").
    common, common_share = None, 0.0
    for word in sorted(set(argmax.values())):
        others = [i for i in voting if i != word]
        share = np.mean([argmax[i] == word for i in others]) if others else 0.0
        if share > common_share:
            common, common_share = word, float(share)

    query_row = plain[query].copy()
    query_row[query] = 0.0  # a token looking at itself links nothing
    top = int(query_row.argmax()) if query_row.sum() > 0 else query
    weight = float(plain[query, target]) if target is not None else 0.0
    everywhere = common is not None and common_share > MOST
    links = bool(target is not None and top == target and query_row.sum() > 0 and query_parked < PARKED
                 and not (everywhere and common == target))

    q, word = tokens[query], tokens[target] if target is not None else ""
    kind, share = max(shares.items(), key=lambda kv: kv[1])
    if parked >= PARKED:
        kind, share, text = "special", parked, f"to [CLS]/[SEP] (a no-op head, {parked:.0%} of its weight)"
    elif share > MOST:
        text = {"previous": "to the previous token", "next": "to the next token", "self": "to itself"}[kind]
    elif everywhere:
        kind, share, text = "one word", common_share, f"to one word from everywhere ({tokens[common]})"
    elif links:
        kind, share, text = "links", weight, f"links {q} → {word}"
    else:
        kind, text = "mixed", f"mixed ({q} → {tokens[top]})"
    if links and kind != "links":
        text += f"; links {q} → {word}"
    return HeadLabel(kind, text, links, top, weight, float(share), common if everywhere else None)


def label_heads(weights: np.ndarray, tokens: list[str], query: int, target: int | None) -> list[list[HeadLabel]]:
    """head_label for every head: weights (layers, heads, T, T) -> [layer][head]."""
    return [[head_label(head, tokens, query, target) for head in layer] for layer in np.asarray(weights)]


def short_text(label: HeadLabel, tokens: list[str]) -> str:
    """A few words for a grid row: 'previous token', 'no-op', 'all → dog', 'links → dog', 'mixed'."""
    link = f"links → {tokens[label.top]}" if label.links else ""
    if label.kind == "links":
        return link
    base = {"special": "no-op ([CLS]/[SEP])", "previous": "previous token", "next": "next token", "self": "itself",
            "one word": f"all → {tokens[label.common]}" if label.common is not None else "one word",
            "mixed": f"mixed, top {tokens[label.top]}"}[label.kind]
    return f"{base}; {link}" if link and label.kind != "mixed" else (link or base)


def resolve_token(value, tokens: list[str], default: int | None, what: str) -> int | None:
    """A token picked by index (5, "5", "5: dog" from the dropdown) or by its text ("dog");
    None or "" means `default`. Anything else is refused with the valid range (never clamped)."""
    from shared.errors import BadInput

    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadInput(f"{what} must be a token's index (0 to {len(tokens) - 1}) or its text.")
    text = str(value).strip().split(":")[0].strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(tokens):
            raise BadInput(f"{what} must be a token's index from 0 to {len(tokens) - 1}; got {index}.")
        return index
    if text.lower() in tokens:
        return tokens.index(text.lower())
    raise BadInput(f"{what}: {text[:40]!r} is not a token of this sentence ({' '.join(tokens)[:200]}).")
