"""TalkingPose Studio engine: models, closed-loop sampling, pose, video, jobs.

Pure Python + torch + numpy. Never imports PySide6, qasync or ``studio``.
"""

__version__ = "0.1.0"
