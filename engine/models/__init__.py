"""Learned modules: Pose Guider, reference attention, appearance encoder, and the component bundle."""
