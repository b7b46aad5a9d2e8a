"""Repeated passages: segmentation with spans, the passage matcher, span removal."""
