"""llamaswap: a drop-in asyncio successor to llama-swap."""

__version__ = "0.1.0"
