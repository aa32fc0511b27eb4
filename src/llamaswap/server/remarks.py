"""Remarks the loading stream shows while a model loads (our own list)."""

from __future__ import annotations

REMARKS: tuple[str, ...] = (
    "Warming up the tensors...",
    "Counting parameters, one billion at a time...",
    "Convincing the GPU this is a good idea...",
    "Paging weights in from the slow lane...",
    "Teaching the attention heads to pay attention...",
    "Untangling the KV cache...",
    "Rolling the dice on quantisation...",
    "Asking the layers to line up in order...",
    "Polishing the embeddings...",
    "Reticulating splines, the neural kind...",
    "The model is stretching before its run...",
    "Allocating VRAM with great optimism...",
    "Feeding the hamsters that spin the fans...",
    "Loading the part of the model that knows jokes...",
    "Almost there, probably...",
    "Checking that the weights still add up...",
    "Mapping the file into memory, page by page...",
    "Brewing coffee for the inference server...",
    "Waking the model up gently...",
    "Untying the context window...",
)
