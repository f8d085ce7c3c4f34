"""Products of a dense batch of maps with foscat's constant sparse matrices, laid out once.

foscat convolves HEALPix maps with its wavelets and smoothing kernel as ``x @ W``
(``BkTorch.bk_sparse_dense_matmul``, called by ``FoCUS.convol`` and ``FoCUS.smooth``):
``x`` dense ``(m, n_in)``, ``W`` a constant CSR matrix ``(n_in, n_out)`` (``n_out = NORIENT *
n_in`` for the wavelets, ``n_in`` for the smoothing kernel). torch computes a dense-times-CSR
product by converting ``W`` to the transposed layout (a sort of its ``nnz`` entries) on every
call, and again for the gradient: most of a loss evaluation on a CPU went there.

:class:`SparseRightMatmul` computes the same product from two CSR layouts built once per
matrix, ``W^T`` (forward: ``(W^T x^T)^T``) and ``W`` (backward: ``dL/dx = (W (dL/dy)^T)^T``),
with 32-bit indices where they fit. :func:`install` puts it in place of an operator's
``bk_sparse_dense_matmul`` at run time (foscat's files are not changed); :func:`uninstall`
gives foscat its own product back. Results equal foscat's to float32 rounding (the sums run in
another order).
"""

from __future__ import annotations

import threading
from typing import Any

import torch

__all__ = [
    "CsrPair",
    "SparseRightMatmul",
    "configure",
    "install",
    "installed",
    "set_enabled",
    "uninstall",
]

_INT32_MAX = 2**31 - 1


def _compact(csr: torch.Tensor) -> torch.Tensor:
    """``csr`` with 32-bit indices when its size allows it (faster sparse products)."""
    if max(csr.shape) < _INT32_MAX and csr._nnz() < _INT32_MAX:
        return torch.sparse_csr_tensor(
            csr.crow_indices().to(torch.int32),
            csr.col_indices().to(torch.int32),
            csr.values(),
            size=csr.shape,
            check_invariants=False,  # the indices of a CSR tensor, already valid
        )
    return csr


class CsrPair:
    """Both CSR orientations of one constant matrix ``W`` ``(n_in, n_out)``.

    Attributes
    ----------
    w : torch.Tensor
        ``W``, CSR ``(n_in, n_out)``: the gradient's product.
    w_t : torch.Tensor
        ``W^T``, CSR ``(n_out, n_in)``: the forward product.
    """

    def __init__(self, w: torch.Tensor) -> None:
        if w.layout != torch.sparse_csr or w.dim() != 2:
            raise ValueError(f"expected a 2-D sparse CSR matrix, got layout {w.layout}, {w.dim()}-D")
        self.w = _compact(w)
        self.w_t = _compact(w.t().to_sparse_csr())

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.w.shape[0]), int(self.w.shape[1])


class SparseRightMatmul(torch.autograd.Function):
    """``y = x @ W`` for dense ``x`` ``(m, n_in)`` and a constant CSR ``W`` ``(n_in, n_out)``.

    Forward ``y = (W^T x^T)^T``, backward ``dL/dx = (W (dL/dy)^T)^T``: two CSR-times-dense
    products from the layouts of a :class:`CsrPair`, no re-layout. ``y`` is ``(m, n_out)``,
    contiguous. ``W`` gets no gradient.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, pair: CsrPair) -> torch.Tensor:  # noqa: D102
        ctx.pair = pair
        return torch.sparse.mm(pair.w_t, x.t()).t().contiguous()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None]:  # noqa: D102
        if not ctx.needs_input_grad[0]:
            return None, None
        return torch.sparse.mm(ctx.pair.w, grad.t()).t().contiguous(), None


class _FastProduct:
    """A backend's ``bk_sparse_dense_matmul`` that multiplies dense by CSR with cached layouts.

    Any other product (sparse first, other dtypes, a matrix that needs a gradient) goes to
    ``original``. The cache holds each matrix it has seen (foscat keeps them for the life of
    the operator anyway), so that an ``id`` is never reused for another one.
    """

    def __init__(self, original: Any) -> None:
        self.original = original
        self._pairs: dict[int, tuple[torch.Tensor, CsrPair]] = {}
        self._lock = threading.Lock()

    def pair(self, w: torch.Tensor) -> CsrPair:
        """The cached :class:`CsrPair` of ``w`` (built on first use)."""
        with self._lock:
            entry = self._pairs.get(id(w))
            if entry is None or entry[0] is not w:
                entry = self._pairs[id(w)] = (w, CsrPair(w))
        return entry[1]

    def __call__(self, smat: torch.Tensor, mat: torch.Tensor) -> torch.Tensor:
        if (
            isinstance(smat, torch.Tensor)
            and isinstance(mat, torch.Tensor)
            and mat.layout == torch.sparse_csr
            and smat.layout == torch.strided
            and smat.dim() == 2
            and mat.dim() == 2
            and smat.dtype == mat.dtype
            and not smat.is_complex()
            and not mat.requires_grad
            and smat.device == mat.device
        ):
            return SparseRightMatmul.apply(smat, self.pair(mat))
        return self.original(smat, mat)


def install(operator: Any) -> None:
    """Make ``operator`` (a ``foscat.scat_cov.funct``) multiply by its sparse matrices with
    cached layouts (:class:`SparseRightMatmul`). Idempotent; only this operator's backend
    instance changes."""
    backend = operator.backend
    if not isinstance(backend.__dict__.get("bk_sparse_dense_matmul"), _FastProduct):
        backend.bk_sparse_dense_matmul = _FastProduct(backend.bk_sparse_dense_matmul)


def uninstall(operator: Any) -> None:
    """Give ``operator`` foscat's own sparse product back (and drop the cached layouts)."""
    backend = operator.backend
    if isinstance(backend.__dict__.get("bk_sparse_dense_matmul"), _FastProduct):
        del backend.bk_sparse_dense_matmul


def installed(operator: Any) -> bool:
    """Whether :func:`install` is in effect on ``operator``."""
    return isinstance(operator.backend.__dict__.get("bk_sparse_dense_matmul"), _FastProduct)


_ENABLED = True


def set_enabled(enabled: bool) -> bool:
    """Choose, for this process, whether :func:`configure` installs the cached products
    (default True; False gives foscat's own, as the benchmarks' "before"). Returns the
    previous choice."""
    global _ENABLED
    previous, _ENABLED = _ENABLED, bool(enabled)
    return previous


def configure(operator: Any) -> Any:
    """:func:`install` or :func:`uninstall` on ``operator`` as :func:`set_enabled` chose;
    returns ``operator``."""
    (install if _ENABLED else uninstall)(operator)
    return operator
