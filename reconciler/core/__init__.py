"""PURE: desired and observed values, fingerprints, diffs and the plan. No I/O."""
