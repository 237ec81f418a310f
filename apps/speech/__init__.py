"""Speech tab: keyword spotting with a GRU and a CNN on log-mel spectrograms, and Whisper tiny.en transcribing anything."""
