# Type stub of the compiled module; tests/test_stub.py checks it against the built module.
from typing import overload

import numpy as np
import numpy.typing as npt

__version__: str

def simd_level() -> str: ...
@overload
def axpy(
    a: float, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]: ...
@overload
def axpy(
    a: float, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]: ...
@overload
def dot(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float: ...
@overload
def dot(x: npt.NDArray[np.float32], y: npt.NDArray[np.float32]) -> float: ...
@overload
def moments(x: npt.NDArray[np.float64]) -> tuple[float, float]: ...
@overload
def moments(x: npt.NDArray[np.float32]) -> tuple[float, float]: ...
