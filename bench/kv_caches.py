"""The KV cache settings the local-model benches compare, by the name their --kv takes."""

import _paths  # noqa: F401  (the repository root on sys.path, for chatapp)

from chatapp.core.backends.llama_file import GGML_TYPE_F16, GGML_TYPE_Q8_0, KVCache

KV_CACHES = {
    # What chatapp runs (llama_file.KVCache's defaults).
    "chatapp": KVCache(),
    # What it ran before issue 14: f16, flash attention, the whole window reserved at load.
    "before": KVCache(GGML_TYPE_F16, GGML_TYPE_F16, flash_attn=True, first_window=None),
    # The smallest cache: K and V in q8_0, which needs flash attention.
    "q8_0-fa": KVCache(GGML_TYPE_Q8_0, GGML_TYPE_Q8_0, flash_attn=True),
}
