"""The PySide6 studio: ``app`` (entry point), ``worker`` (the one place threads meet Qt),
``viewmodels`` (state + signals) and ``widgets`` (layout and binding only)."""
