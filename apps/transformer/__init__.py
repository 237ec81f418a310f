"""Transformer tab: attention maps, transfer learning for sentiment, a tiny GPT, positional encoding."""
