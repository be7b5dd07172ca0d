"""Where a training run computes: the backend's devices, its threads, its seed and its precision.

train.py fills a `Runtime` from its flags; everything that depends on the Keras backend being
TensorFlow or another (JAX, PyTorch) is decided here, once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from .errors import PipelineError, warn
from .quiet import quiet_tensorflow

PRECISIONS = ("off", "auto", "mixed_float16", "mixed_bfloat16")
INPUTS = ("auto", "tfdata", "numpy")


@dataclass(frozen=True)
class Runtime:
    """The run's compute settings (train.py's THREADS, LOGICAL_CPUS, SEED, MIXED_PRECISION, INPUT)."""

    seed: int
    threads: int = 0  # 0: all cores
    logical_cpus: int = 0  # > 1: the CPU split into this many devices (tests of multi-device training)
    mixed_precision: str = "off"
    input: str = "auto"


class OneDevice:
    """The strategy of a backend other than TensorFlow: one device, nothing to distribute."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


def input_kind(choice: str) -> str:
    """tfdata or numpy: what `auto` means under the current backend (tf.data needs TensorFlow)."""
    import keras

    if choice != "auto":
        return choice
    return "tfdata" if keras.backend.backend() == "tensorflow" else "numpy"


def setup(rt: Runtime):
    """Devices, determinism, precision; returns the distribution strategy and the device names."""
    quiet_tensorflow()
    import keras

    if keras.backend.backend() != "tensorflow":
        return _setup_other(rt, keras)
    import tensorflow as tf

    if rt.threads > 0:
        tf.config.threading.set_intra_op_parallelism_threads(rt.threads)
        tf.config.threading.set_inter_op_parallelism_threads(rt.threads)
    if rt.logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * rt.logical_cpus)
    keras.utils.set_random_seed(rt.seed)
    tf.config.experimental.enable_op_determinism()
    gpus = tf.config.list_logical_devices("GPU")
    policy = rt.mixed_precision
    if policy == "auto":
        policy = "mixed_float16" if gpus else "mixed_bfloat16"
    keras.mixed_precision.set_dtype_policy("float32" if policy == "off" else policy)
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(devices) if len(devices) > 1 else tf.distribute.get_strategy(), devices


def _setup_other(rt: Runtime, keras):
    """Keras on JAX or PyTorch: seeded, one device, the numpy input; `auto` precision is bfloat16."""
    if rt.input == "tfdata":
        raise PipelineError(f"--input tfdata needs the TensorFlow backend, not {keras.backend.backend()}; "
                            "use --input numpy (or auto)")
    if rt.logical_cpus > 1 or rt.threads > 0:
        warn("--logical-cpus and --threads apply to TensorFlow only; ignored")
    keras.utils.set_random_seed(rt.seed)
    policy = "mixed_bfloat16" if rt.mixed_precision == "auto" else rt.mixed_precision
    keras.mixed_precision.set_dtype_policy("float32" if policy == "off" else policy)
    if keras.backend.backend() == "jax":
        import jax

        return OneDevice(), [str(d) for d in jax.devices()[:1]]
    return OneDevice(), [keras.backend.backend()]
