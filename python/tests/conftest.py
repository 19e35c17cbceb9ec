"""Paths the Python tests share: the models build/models holds (made by ctest's fixtures)
and the ONNX backend suite from Debian's libonnx-testdata."""
import os

import pytest

MODELS = os.path.abspath(os.environ.get("ONYX_MODELS_DIR", os.path.join(os.path.dirname(__file__), "../../build/models")))
SOURCE = os.environ.get("ONYX_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
NODE_SUITE = "/usr/share/libonnx-testdata/data/node"


@pytest.fixture
def models():
    return MODELS


def node_case(name):
    return os.path.join(NODE_SUITE, name, "model.onnx")
