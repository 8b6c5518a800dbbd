"""PURE: the planner, its actions, field diffs and the branch view. No I/O."""
