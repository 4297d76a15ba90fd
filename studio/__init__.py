"""TalkingPose Studio front ends: the PySide6 GUI (studio.gui.app) and studio-cli (studio.cli).

Imports nothing heavy: studio-cli must run on machines without Qt.
"""
