"""PURE: the values every layer shares (desired, observed, estimate, budget, fingerprint,
labels, quota, resource names). No I/O."""
