"""A small OpenAI-compatible fake upstream (``python -m llamaswap.demo``)."""
