"""Package list only; everything else is in pyproject.toml.

pyproject.toml cannot combine ``packages.find`` with a package whose folder has another name, and
the bundled files must stay in the top-level ``resources/`` folder while installing as the
``talkingpose_resources`` package.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["engine*", "studio*"]) + ["talkingpose_resources"])
