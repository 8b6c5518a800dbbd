"""Renderings of one Plan: terminal text, JSON, Markdown, GitHub annotations."""
