"""The studio's bundled files, installed as the data-only package ``talkingpose_resources``.

Code never imports this; it asks ``engine.resources.resource_path`` for a path.
"""
