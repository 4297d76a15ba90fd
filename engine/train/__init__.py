"""Training the demo model: the synthetic "puppet" data set (puppets.py, motion.py), the bundled
sample inputs (samples.py) and the trainer.

Puppets are procedurally drawn 2D upper-body characters posed by the canonical keypoints of
``engine.pose.keypoints``, so their pose images come from our own drawing code, exactly as a real
driving video's would.
"""
