"""process layer."""
