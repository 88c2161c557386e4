"""The project's own Jupyter kernel: the interpreter that runs ``workbench report`` runs the notebooks.

Notebooks carry the kernelspec name :data:`KERNEL_NAME` (``continuum-workbench``) so that JupyterLab
(``make lab``, which registers the kernel into the virtual environment with ``ipykernel install
--sys-prefix``) opens them on the project's environment. When papermill executes them, the kernel
is *not* looked up by name: a kernelspec registered by another checkout or in the user's home could
shadow ours and point at another interpreter. :class:`WorkbenchKernelManager` starts
``sys.executable -m ipykernel_launcher`` instead, so the report always runs on the exact environment
(and package versions) that the manifest records.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import weakref

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec

KERNEL_NAME = "continuum-workbench"
"""Kernelspec name written into every notebook and registered by ``make lab``."""

KERNEL_ENV = {
    # hash randomisation off: set/dict iteration order of strings is then the same on every run
    "PYTHONHASHSEED": "0",
    # no colour escapes in tracebacks stored in the manifest
    "NO_COLOR": "1",
}
"""Environment given to report kernels (on top of the caller's environment)."""


def kernel_spec() -> KernelSpec:
    """Kernelspec that launches ipykernel on the current interpreter."""
    return KernelSpec(
        argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        name=KERNEL_NAME,
        display_name=KERNEL_NAME,
        language="python",
        env=dict(KERNEL_ENV),
        metadata={"debugger": False},
    )


class WorkbenchKernelManager(AsyncKernelManager):
    """Kernel manager whose kernelspec is always :func:`kernel_spec` (the current interpreter).

    On POSIX the kernel talks over IPC sockets in a private temporary folder (removed with the
    manager) rather than TCP on localhost, so nothing listens on a network port while a report
    renders, and two renders never share socket names.
    """

    def __init__(self, **kwargs):
        ipc_dir = None
        if sys.platform != "win32" and "transport" not in kwargs:
            ipc_dir = tempfile.mkdtemp(prefix="workbench-kernel-")
            kwargs.update(transport="ipc", ip=os.path.join(ipc_dir, "kernel"))
        super().__init__(**kwargs)
        if ipc_dir:
            weakref.finalize(self, shutil.rmtree, ipc_dir, True)

    @property
    def kernel_spec(self) -> KernelSpec:  # type: ignore[override]
        if self._kernel_spec is None:
            self._kernel_spec = kernel_spec()
        return self._kernel_spec
