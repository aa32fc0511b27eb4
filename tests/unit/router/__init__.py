"""Unit tests of the router core: scheduler, queue, planners, matrix DSL."""
