"""Exceptions that infer.py functions raise; tab.py turns them into gr.Error (see shared.ui.guard).

Kept free of Gradio so that infer.py, tests and notebooks can use them.
"""


class BadInput(ValueError):
    """The user's input cannot be used; the message tells them what to do instead."""


class CheckpointError(RuntimeError):
    """A shipped checkpoint is missing, truncated or does not match its model card."""


class Cancelled(RuntimeError):
    """Work stopped because nobody waits for its result any more (the client went away)."""
