"""Package list only; everything else is in pyproject.toml.

pyproject.toml cannot combine ``packages.find`` with a package whose folder has another name, and
the bundled files must stay in the top-level ``resources/`` folder while installing as the
``talkingpose_resources`` package. Its data folders are listed as (namespace) packages too, so
setuptools ships them without warning that they look like packages.
"""

from setuptools import find_namespace_packages, find_packages, setup

data_folders = [f"talkingpose_resources.{name}" for name in find_namespace_packages(where="resources", exclude=["*__pycache__*"])]
setup(packages=find_packages(include=["engine*", "studio*"]) + ["talkingpose_resources", *data_folders])
