"""Adapters from the planner's observed-state values to real services."""
