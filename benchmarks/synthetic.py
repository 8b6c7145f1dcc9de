"""Deterministic synthetic catalogs in the `/api/models` shape.

The benchmark needs catalogs of 100 to 100,000 entries that look like the
provider's real one (reference/model-discovery.md): every category of the
provider page (weighted toward text), realistic capability-tag mixes, about
85% healthy / 10% degraded / 5% down, and the gaps real catalogs have --
about 10% of entries without an output price, some without a context window,
zeros and ties in prices.  A small share of entries carry a category the
provider page does not know (`rerank`), so the "no endpoint, never picked"
rule is exercised too.

Everything comes from one `random.Random(seed)`: the same (n, seed) always
gives the same list, on every machine and Python version >= 3.8.

    >>> from benchmarks.synthetic import generate
    >>> entries = generate(1000, seed=7)
    >>> len({e["model_name"] for e in entries})
    1000
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

DEFAULT_SEED = 20260724

#: The nine categories of the provider page, and how often each appears.
CATEGORY_WEIGHTS: dict[str, float] = {
    "text": 40,
    "reasoning": 15,
    "multimodal": 12,
    "code": 10,
    "embedding": 7,
    "image": 6,
    "audio": 4,
    "vision": 3,
    "video": 2,
}
#: A category the provider page does not list (entries get no endpoint).
UNKNOWN_CATEGORY = "rerank"
UNKNOWN_CATEGORY_WEIGHT = 1.0

KNOWN_CATEGORIES = frozenset(CATEGORY_WEIGHTS)

PROVIDERS = [
    ("Qwen", "qwen"),
    ("Meta", "meta-llama"),
    ("Mistral AI", "mistralai"),
    ("DeepSeek", "deepseek-ai"),
    ("Google", "google"),
    ("Microsoft", "microsoft"),
    ("NVIDIA", "nvidia"),
    ("BAAI", "BAAI"),
    ("Nomic", "nomic-ai"),
    ("Black Forest Labs", "black-forest-labs"),
    ("Stability AI", "stabilityai"),
    ("OpenAI", "openai"),
    ("Moonshot", "moonshotai"),
    ("Zhipu", "zai-org"),
    ("IBM", "ibm-granite"),
    ("Cohere", "CohereLabs"),
    ("Alibaba", "alibaba"),
    ("Allen AI", "allenai"),
]

FAMILIES: dict[str, list[str]] = {
    "text": [
        "Llama-3.3",
        "Qwen2.5",
        "Mistral-Small",
        "Gemma-3",
        "Phi-4",
        "Granite-3.3",
        "Command-R",
        "OLMo-2",
    ],
    "reasoning": [
        "DeepSeek-R1",
        "QwQ",
        "Qwen3",
        "Magistral",
        "Phi-4-reasoning",
        "GLM-4.5",
        "Kimi-K2",
    ],
    "multimodal": [
        "Qwen2.5-VL",
        "Llama-4-Scout",
        "Gemma-3-it",
        "Pixtral",
        "InternVL3",
        "Llama-3.2-Vision",
    ],
    "code": [
        "Qwen2.5-Coder",
        "Codestral",
        "DeepSeek-Coder-V2",
        "StarCoder2",
        "Devstral",
        "Granite-Code",
    ],
    "embedding": [
        "bge-m3",
        "bge-large-en-v1.5",
        "nomic-embed-text-v1.5",
        "gte-Qwen2",
        "e5-mistral",
        "Qwen3-Embedding",
    ],
    "image": ["FLUX.1-schnell", "FLUX.1-dev", "stable-diffusion-3.5", "SDXL-Turbo", "HiDream-I1"],
    "audio": [
        "whisper-large-v3",
        "whisper-large-v3-turbo",
        "Kokoro-82M",
        "parler-tts",
        "canary-1b",
    ],
    "vision": ["olmOCR", "GOT-OCR2", "Florence-2", "PaddleOCR-VL"],
    "video": ["Wan2.1-T2V", "HunyuanVideo", "LTX-Video", "CogVideoX"],
    UNKNOWN_CATEGORY: ["bge-reranker-v2-m3", "jina-reranker-v2", "mxbai-rerank"],
}

SIZES = [
    "0.5B",
    "1.5B",
    "3B",
    "7B",
    "8B",
    "14B",
    "22B",
    "32B",
    "70B",
    "72B",
    "123B",
    "235B-A22B",
    "405B",
]
VARIANTS = ["Instruct", "Instruct-FP8", "Chat", "AWQ", "Turbo", "", "Preview", "Lite", "GGUF-Q4"]

#: Common list prices (USD per million tokens): drawing from these makes ties.
COMMON_PRICES = [
    0.02,
    0.05,
    0.06,
    0.1,
    0.12,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.6,
    0.8,
    0.9,
    1.0,
    1.2,
    2.0,
    2.5,
    3.0,
    5.0,
    8.0,
    10.0,
    15.0,
]
CHAT_CONTEXTS = [
    4096,
    8192,
    16384,
    32768,
    32768,
    65536,
    128000,
    131072,
    131072,
    200000,
    262144,
    1000000,
]


def _price(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.04:
        return 0.0  # free tier
    if r < 0.60:
        return rng.choice(COMMON_PRICES)  # list prices: plenty of ties
    return round(rng.lognormvariate(-0.7, 1.1), 3)  # long tail, 3 decimals


def _supports(rng: random.Random, category: str) -> list[str]:
    tags: list[str] = []
    if category in ("text", "code", "reasoning", "multimodal"):
        if rng.random() < 0.97:
            tags.append("chat")
        if rng.random() < 0.9:
            tags.append("streaming")
        p_tool = {"text": 0.55, "code": 0.7, "reasoning": 0.65, "multimodal": 0.5}[category]
        if rng.random() < p_tool:
            tags.append("tool_use")
        p_vision = {"text": 0.03, "code": 0.0, "reasoning": 0.2, "multimodal": 0.95}[category]
        if rng.random() < p_vision:
            tags.append("vision")
        p_reason = {"text": 0.05, "code": 0.1, "reasoning": 0.97, "multimodal": 0.1}[category]
        if rng.random() < p_reason:
            tags.append("reasoning")
    elif category == "vision":
        tags.append("vision")
        if rng.random() < 0.5:
            tags += ["chat", "streaming"]
    elif category == "embedding":
        tags.append("embeddings")
    elif category == "audio":
        if rng.random() < 0.5:
            tags.append("audio_transcription")  # speech-to-text; else text-to-speech
        if rng.random() < 0.3:
            tags.append("streaming")
    elif category == UNKNOWN_CATEGORY:
        if rng.random() < 0.3:
            tags.append("embeddings")
    # image / video: no chat-style tags
    return tags


def _entry(rng: random.Random, i: int) -> dict[str, Any]:
    categories = [*list(CATEGORY_WEIGHTS), UNKNOWN_CATEGORY]
    weights = [*list(CATEGORY_WEIGHTS.values()), UNKNOWN_CATEGORY_WEIGHT]
    category = rng.choices(categories, weights)[0]
    provider, org = rng.choice(PROVIDERS)
    family = rng.choice(FAMILIES[category])
    size = rng.choice(SIZES) if category in ("text", "code", "reasoning", "multimodal") else ""
    variant = rng.choice(VARIANTS)
    parts = [p for p in (family, size, variant) if p]
    base = "-".join(parts)
    # The index suffix keeps model_name unique whatever the draws were.
    model_name = f"{org}/{base}-{i:06d}"
    slug = model_name.lower().replace("/", "-").replace(".", "-").replace("_", "-")
    display = f"{family.replace('-', ' ')} {size} {variant}".strip().replace("  ", " ")

    entry: dict[str, Any] = {
        "slug": slug,
        "model_name": model_name,
        "display_name": display,
        "description": f"{display} — {category} model served by {provider} (synthetic entry #{i}).",
        "category": category,
    }

    chatty = category in ("text", "code", "reasoning", "multimodal", "vision")
    if chatty:
        if rng.random() < 0.93:  # ~7% of chat models lack a context window
            entry["context_window"] = rng.choice(CHAT_CONTEXTS)
        if rng.random() < 0.85:
            entry["max_output"] = rng.choice([2048, 4096, 8192, 16384, 32768, 65536])
    elif category in ("embedding", UNKNOWN_CATEGORY):
        if rng.random() < 0.9:
            entry["context_window"] = rng.choice([512, 2048, 8192, 32768])
    elif category == "audio" and rng.random() < 0.3:
        entry["context_window"] = 448

    # Prices.  Input is almost always known; output is missing on ~10% of
    # entries overall (mostly embeddings / media), sometimes as an explicit null.
    if rng.random() < 0.97:
        inp = _price(rng)
        entry["input_per_mtok"] = inp
    else:
        inp = None
    if category in ("embedding", UNKNOWN_CATEGORY):
        p_out_missing = 0.6
    elif category in ("image", "video", "audio"):
        p_out_missing = 0.35
    else:
        p_out_missing = 0.03
    r = rng.random()
    if r < p_out_missing:
        if rng.random() < 0.3:
            entry["output_per_mtok"] = None  # the "null" style of some sources
    elif inp is not None and rng.random() < 0.35:
        entry["output_per_mtok"] = inp  # same price both ways: ties in P2's key
    else:
        entry["output_per_mtok"] = (
            _price(rng)
            if rng.random() < 0.5
            else round((inp or 0.1) * rng.choice([1, 2, 3, 4, 5]), 3)
        )

    entry["supports"] = _supports(rng, category)
    pricing: list[dict[str, Any]] = []
    if category in ("image", "video") and rng.random() < 0.5:
        unit = "image" if category == "image" else "second"
        pricing.append(
            {
                "billing_unit": unit,
                "unit_price_usd": rng.choice([0.003, 0.01, 0.02, 0.04, 0.06]),
                "currency": "USD",
            }
        )
    entry["pricing"] = pricing

    h = rng.random()
    entry["health_status"] = "healthy" if h < 0.85 else ("degraded" if h < 0.95 else "down")
    entry["provider"] = provider
    return entry


def generate(n: int, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Return `n` catalog entries, the same for the same (n, seed)."""
    rng = random.Random(seed)
    entries = [_entry(rng, i) for i in range(n)]
    # Shuffle so that catalog order says nothing about model_name order.
    rng.shuffle(entries)
    return entries


def write_catalog(path: str | os.PathLike[str], n: int, seed: int = DEFAULT_SEED) -> str:
    """Write a synthetic catalog of `n` entries to `path` as a JSON array."""
    entries = generate(n, seed)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(entries, f, ensure_ascii=False)
    return os.fspath(path)


if __name__ == "__main__":  # python benchmarks/synthetic.py N [SEED] > catalog.json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_SEED
    json.dump(generate(n, seed), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
