"""The edges tuneops touches besides Vertex AI: Cloud Storage and git."""
