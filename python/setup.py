"""Installs the onyx Python package from a CMake build (scripts/setup makes one in build/):
the pure-Python modules of python/onyx and the extension module build/python/onyx/_onyx*.so.

    pip install --no-build-isolation --no-deps python/      # ONYX_BUILD_DIR=other/build
"""
import glob
import os
import re
import shutil

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("ONYX_BUILD_DIR", os.path.join(HERE, "..", "build"))


def version():
    with open(os.path.join(HERE, "..", "CMakeLists.txt")) as f:
        return re.search(r"project\(onyx VERSION ([0-9.]+)", f.read()).group(1)


class BuildWithExtension(build_py):
    """build_py, plus the extension module CMake built."""

    def run(self):
        super().run()
        built = glob.glob(os.path.join(BUILD, "python", "onyx", "_onyx*.so"))
        if not built:
            raise SystemExit(f"no onyx extension module in {BUILD}/python/onyx: run scripts/setup first")
        target = os.path.join(self.build_lib, "onyx")
        os.makedirs(target, exist_ok=True)
        shutil.copy2(built[0], target)


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # a platform wheel: it carries a compiled module
        return True


setup(
    name="onyx",
    version=version(),
    description="Declare, train, run and ship neural networks whose one model format is ONNX",
    packages=["onyx"],
    package_dir={"onyx": "onyx"},
    python_requires=">=3.9",
    cmdclass={"build_py": BuildWithExtension},
    distclass=BinaryDistribution,
    zip_safe=False,
)
