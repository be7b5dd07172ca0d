"""Import TensorFlow without the start-up lines a machine without a GPU prints although nothing is
wrong ("Could not find cuda drivers", "failed call to cuInit", absl's pre-init warning). They come
from C++ on file descriptor 2, before TF_CPP_MIN_LOG_LEVEL is read, so Python cannot filter them:
the descriptor is captured while TensorFlow loads and every other line is passed on unchanged."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "Could not find cuda drivers",
    "failed call to cuInit",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning: Could not find TensorRT",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions",
    "oneDNN custom operations are on",  # an information line of machines where TensorFlow uses oneDNN
)


@contextmanager
def filtered_stderr(noise: tuple[str, ...] = NOISE) -> Iterator[None]:
    """Hold back what is written to descriptor 2 inside the block; replay all but the noise lines."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode(errors="replace").splitlines(keepends=True)
                    if not any(n in line for n in noise)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def quiet_tensorflow() -> None:
    """Load TensorFlow and Keras once, without the harmless start-up noise; later imports are free."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # also hides cuInit's error at first device use
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return
    if os.environ["KERAS_BACKEND"] != "tensorflow":  # Keras on JAX or PyTorch: TensorFlow may be absent
        import keras  # noqa: F401

        return
    with filtered_stderr():
        import keras  # noqa: F401
        import tensorflow

        tensorflow.config.list_physical_devices()  # the driver probe, whose failure is the noise
