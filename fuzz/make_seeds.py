#!/usr/bin/python3
"""Writes the small seed inputs committed in fuzz/corpus/ (run from the repository root:
/usr/bin/python3 fuzz/make_seeds.py). The model seeds come from the ONNX backend suites at
run time (fuzz/run.sh); these are the formats the suites do not hold."""
import io
import os
import struct
import sys

import numpy as np
from PIL import Image

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data)


def idx(dtype_code, array):
    big = array.astype(array.dtype.newbyteorder(">"))
    head = bytes([0, 0, dtype_code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return head + big.tobytes()


rng = np.random.default_rng(0)
put("idx", "images_u8", idx(0x08, rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)))
put("idx", "labels_u8", idx(0x08, np.array([1, 2, 3], dtype=np.uint8)))
put("idx", "i16", idx(0x0B, np.array([0, 256, 32767], dtype=np.int16)))
put("idx", "f32", idx(0x0D, np.array([[-1.5, 2.0]], dtype=np.float32)))
put("idx", "f64", idx(0x0E, np.array([3.25], dtype=np.float64)))

pixels = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
for mode in ("L", "RGB", "RGBA", "P", "1"):
    im = Image.fromarray(pixels).convert(mode)
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg"), ("PPM", "pnm"), ("WEBP", "webp")):
        if fmt == "JPEG" and mode in ("RGBA", "P", "1"):
            continue
        if fmt == "PPM" and mode in ("RGBA", "P"):
            continue
        buf = io.BytesIO()
        im.save(buf, fmt)
        put("image", f"{mode}.{ext}", buf.getvalue())

for name, a in (("f32", np.arange(6, dtype=np.float32).reshape(2, 3)),
                ("i64", np.array([1, -2], dtype=np.int64)),
                ("bool", np.array([True, False])),
                ("f16_fortran", np.asfortranarray(np.ones((2, 2), dtype=np.float16))),
                ("scalar", np.array(7.5, dtype=np.float64))):
    buf = io.BytesIO()
    np.save(buf, a)
    put("tensor_file", name + ".npy", buf.getvalue())
print("seeds written to", root, file=sys.stderr)
