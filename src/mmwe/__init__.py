"""mmwe: train, map and diagnose multimodal word embeddings."""

from mmwe.errors import MmweError

__version__ = "0.1.0"
__all__ = ["MmweError", "__version__"]
