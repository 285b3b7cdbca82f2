"""Insights: what campaigns and experiments caused (experiments.py: the statistics engine)."""
