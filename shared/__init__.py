"""Code every tab uses: checkpoints + model cards, the training loop, plots, UI helpers."""
