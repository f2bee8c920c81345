# Type stub for the cffi-generated extension module processing_core._native.
from typing import Any

ffi: Any
lib: Any
