"""One typical request per model endpoint, for the benchmarks (callables: files are made fresh)."""

from __future__ import annotations

ENDPOINTS: dict[str, callable] = {}

# Endpoints backed by the large pretrained models (EfficientNet-Lite0, MiniLM): a looser latency target.
LARGE_PRETRAINED: set[str] = set()
