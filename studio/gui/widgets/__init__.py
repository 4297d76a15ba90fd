"""Widgets: layout and binding only; they read view-model state and call view-model methods."""
