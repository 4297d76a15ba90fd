"""Training: the trainer, the dataset builder and loaders, the small VAE trainer, checkpoints.

The synthetic "puppet" data of the bundled demo model lives in ``engine.puppets``.
"""
