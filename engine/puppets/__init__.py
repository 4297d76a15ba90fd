"""The synthetic "puppet" generator: procedurally drawn 2D upper-body characters and their motion.

Puppets are posed by the canonical keypoints of ``engine.pose.keypoints``, so their pose images come
from our own drawing code, exactly as a real driving video's would. They are the demo model's
training data (``engine.train.dataset``), the bundled sample inputs (``samples.py``, reproduced with
``python -m engine.puppets.samples resources/samples``) and the held-out clips of the benches.

generator.py: identities, training pairs and ``render_puppet``; motion.py: the motion clips and the
pose rig; draw.py and head.py: the drawing.
"""
