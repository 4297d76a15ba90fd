"""The installer behind installers/install.py (standard library only)."""
