"""Speech commands tab: keyword spotting with a CNN and a GRU on log-mel spectrograms."""
