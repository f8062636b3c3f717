"""The one thing pyproject.toml cannot say: the tutorials ship inside the package.

`notebooks/` stays at the top of the repository, the one copy of the tutorials; the build maps
it to the package `spotkit.tutorials`, so the wheel carries them for `spotkit demo` and an
editable install finds the very same files.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["spotkit", "spotkit.*"]), "spotkit.tutorials"],
    package_dir={"spotkit.tutorials": "notebooks"},
)
