"""Small fixes to Gradio's own request handling, installed once by app.py (`install()`).

Each names the upstream code it corrects; each has a test in tests/test_budgets.py.
"""

from __future__ import annotations

import math
import os

import gradio as gr

from shared.ui import user_error

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    _bounded_dataset_index()
    _finite_numbers()
    _clear_validation_errors()
    _lazy_session_config()


def _bounded_dataset_index() -> None:
    """gradio/components/dataset.py Dataset.preprocess indexes its samples with whatever an API
    caller sends: -1 quietly picks the last example, 10**9 fails as an IndexError. Examples and
    pickers take the index of a sample that exists, or refuse in one sentence."""
    original = gr.Dataset.preprocess

    def preprocess(self, payload):
        if payload is not None:
            n = len(self.raw_samples)
            if isinstance(payload, bool) or not isinstance(payload, int) or not 0 <= payload < n:
                raise user_error(f"Pick one of the {n} examples (an index from 0 to {n - 1}; got {payload!r}).")
        return original(self, payload)

    gr.Dataset.preprocess = preprocess


def _finite_numbers() -> None:
    """gradio/components/number.py Number.preprocess rounds whatever it gets: a raw HTTP caller's
    Infinity fails there as "OverflowError: cannot convert float infinity to integer", and NaN
    passes its bounds check (every comparison with NaN is false). Both are refused in one sentence.
    A box with a range (made from a shared.spec.Limit) refuses what is outside it with the app's one
    sentence for numbers ("Horizon H must be a whole number from 1 to 30 (got 0)."), not Gradio's."""
    from shared import validate
    from shared.errors import BadInput

    original = gr.Number.preprocess

    def preprocess(self, payload):
        if isinstance(payload, float) and not math.isfinite(payload):
            raise user_error(f"{self.label or 'The number'} must be a finite number (got {payload}).")
        if isinstance(payload, (int, float)) and not isinstance(payload, bool) and (
                (self.minimum is not None and payload < self.minimum)
                or (self.maximum is not None and payload > self.maximum)):
            low = -math.inf if self.minimum is None else self.minimum
            high = math.inf if self.maximum is None else self.maximum
            try:
                validate.number(payload, low, high, self.label or "the number", integer=self.precision == 0)
            except BadInput as e:
                raise user_error(str(e)) from None
        return original(self, payload)

    gr.Number.preprocess = preprocess


def _clear_validation_errors() -> None:
    """gradio/utils.py error_payload shows an exception as str(exc): for a malformed file input
    (a FileData without its "meta", a path that is a number) that is pydantic's multi-line dump
    with a link to its docs. Callers get one sentence that says what a file input looks like."""
    import pydantic
    from gradio import queueing, routes, utils

    original = utils.error_payload

    def error_payload(error, show_error):
        if isinstance(error, pydantic.ValidationError):
            error = gr.Error(f"An input is not in the form this endpoint takes ({error.title}): a file is sent "
                             "as gradio_client.handle_file(path), or as {\"path\": ..., \"meta\": "
                             "{\"_type\": \"gradio.FileData\"}} after an upload. client.view_api() lists "
                             "each endpoint's inputs.", print_exception=False)
        return original(error, show_error)

    utils.error_payload = queueing.error_payload = error_payload
    assert routes.utils is utils  # routes calls utils.error_payload, patched above


def _lazy_session_config() -> None:
    """gradio/state_holder.py SessionState keeps `config_values`, the config of every block, for
    each session (about 700 KB for this gallery's 445 blocks): __init__ built it for every new
    session, and every answer's postprocessing (`_update_value_in_config`) read it. Only deep links
    read all of it. Here it is a mapping that builds a block's entry when that entry is first read
    (an answer touches only its output blocks) and all of them when it is iterated; everything
    else is as upstream's __init__ sets it (tests/test_budgets.py compares the two)."""
    from copy import copy

    from gradio.state_holder import SessionState

    upstream_init = SessionState.__init__

    def __init__(self, blocks):
        self.blocks_config = copy(blocks.default_config)
        self.config_values = _LazyConfigValues(self, blocks)
        self.state_data = {}
        self._state_ttl = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    SessionState.__init__ = __init__
    SessionState._upstream_init = upstream_init  # for the test that compares the two


class _LazyConfigValues(dict):
    """SessionState.config_values with entries built on first read (see _lazy_session_config)."""

    def __init__(self, session, blocks):
        super().__init__()
        self._session, self._blocks = session, blocks

    def _known(self, key) -> bool:
        return key in self._session.blocks_config.blocks and key in self._blocks.blocks

    def __missing__(self, key):
        if not self._known(key):
            raise KeyError(key)
        config = self._session.blocks_config
        value = self[key] = config.config_for_block(key, [], config.blocks[key])
        return value

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or self._known(key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def _all(self) -> None:
        for key in self._session.blocks_config.blocks:
            if key in self._blocks.blocks and not dict.__contains__(self, key):
                self.__missing__(key)

    def __iter__(self):
        self._all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._all()
        return dict.__len__(self)

    def keys(self):
        self._all()
        return dict.keys(self)

    def values(self):
        self._all()
        return dict.values(self)

    def items(self):
        self._all()
        return dict.items(self)

    def __eq__(self, other) -> bool:
        self._all()
        return dict(self.items()) == other

    __hash__ = None
