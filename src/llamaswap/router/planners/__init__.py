"""router/planners layer."""
