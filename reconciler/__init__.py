"""tuneops: a GitOps reconciler for Vertex AI code-model tuning jobs."""
