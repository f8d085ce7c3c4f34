"""foscat's scattering statistics on HEALPix maps, with its sparse products laid out once.

A loss evaluation of :func:`eogapfill.fill.foscat.fill_foscat` spent most of its CPU time in
three places of foscat (torch backend), all patched here at run time on one operator instance
(foscat's files are not changed):

``BkTorch.bk_sparse_dense_matmul`` (wavelets and smoothing, from ``FoCUS.convol``/``smooth``)
    ``x @ W``: ``x`` dense ``(m, n_in)``, ``W`` a constant CSR matrix ``(n_in, n_out)``
    (``n_out = NORIENT * n_in`` for the wavelets). torch converts ``W`` to the transposed
    layout (a sort of its ``nnz`` entries) on every call, and again for the gradient.
``FoCUS.ud_grade_2`` (``SphereDownGeo``, nside -> nside/2)
    ``M x`` with ``torch.sparse.mm``: its gradient re-lays ``M^T`` out on every call.
``FoCUS.masked_mean``
    ``sum(mask * x)`` over a ``(n_maps, n_masks, npix)`` product, plus an unused
    ``sum(mask * x * x)``: one ``(n_maps, npix) @ (npix, n_masks)`` product instead.

and, once per process and grid, in building the kernels: ``BkTorch.bk_SparseTensor`` sorts the
COO entries with torch (scipy's O(nnz) conversion here, 32-bit indices shared by the real and
imaginary wavelets), and ``FoCUS.init_index`` reads foscat's disk cache of COO entries (0.9 GB
at nside 128) and skips it for the coarser grids of a full-sphere map: the CSR matrices are
kept on disk instead, next to foscat's files. A grid of more than 16384 cells is built by
foscat piece by piece (its stencils on a piece and a halo of neighbours, the piece's columns
kept: the same matrices), so that the build holds one piece's COO entries (int64 indices,
complex128 values) at a time: the first build at nside 128 peaked at 5.4 GB in one go.

:class:`SparseRightMatmul` computes ``x @ W`` (forward: ``(W^T x^T)^T``, backward:
``dL/dx = (W (dL/dy)^T)^T``) from one CSR layout per matrix on the CPU, with 32-bit indices
where they fit: scipy multiplies by its transpose without a copy (:class:`CsrPair`); a GPU
keeps both layouts. :func:`install` puts all of them in place, :func:`uninstall` gives foscat
its own back. The statistics equal foscat's to float32 rounding (the sums run in another
order).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np
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
_CACHE_VERSION = 1  # of the kernel files written by _KernelCache


def _index_dtype(shape: tuple[int, ...], nnz: int) -> torch.dtype:
    """32-bit indices when the matrix allows them (faster products, half the memory)."""
    return torch.int32 if max(*shape, nnz) < _INT32_MAX else torch.int64


class _Pattern:
    """The index arrays of a CSR matrix ``(n_in, n_out)``, and those of its transpose when
    asked for (:meth:`transposed`: a GPU needs them, a CPU reads the transpose from these).

    Several of foscat's matrices share one pattern (the real and imaginary parts of the
    wavelets): their :class:`CsrPair` share these arrays. The order that takes the values of
    ``W`` to those of ``W^T`` (:meth:`transposed_values`) is as large as the column indices
    and needed once per matrix: it is recomputed rather than kept.
    """

    def __init__(self, crow: torch.Tensor, col: torch.Tensor, shape: tuple[int, int]) -> None:
        dtype = _index_dtype(shape, int(col.numel()))
        self.shape = shape
        self.crow = crow.to(dtype)
        self.col = col.to(dtype)
        self._transposed: tuple[torch.Tensor, torch.Tensor] | None = None

    def _order(self) -> Any:
        """``W^T``'s CSR layout (scipy) with, as values, the position of each entry in ``W``."""
        import scipy.sparse as sp

        nnz = int(self.col.numel())
        positions = np.arange(nnz, dtype=np.int32 if nnz < _INT32_MAX else np.int64)
        order = sp.csr_matrix(  # transposed in O(nnz) by scipy
            (positions, self.col.cpu().numpy(), self.crow.cpu().numpy()), shape=self.shape
        ).T.tocsr()
        order.sort_indices()
        return order

    def transposed(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(crow_t, col_t)``: the index arrays of ``W^T``'s CSR layout (built once)."""
        if self._transposed is None:
            order = self._order()
            device, dtype = self.crow.device, self.crow.dtype
            self._transposed = (
                torch.from_numpy(order.indptr).to(device, dtype),
                torch.from_numpy(order.indices).to(device, dtype),
            )
        return self._transposed

    def transposed_values(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` (nnz,) of a matrix ``W`` of this pattern, in the order of ``W^T``'s
        layout (:meth:`transposed`)."""
        perm = torch.from_numpy(self._order().data).to(values.device)
        return values[perm]

    def matches(self, crow: torch.Tensor, col: torch.Tensor, shape: tuple[int, int]) -> bool:
        return (
            shape == self.shape
            and col.numel() == self.col.numel()
            and crow.device == self.crow.device
            and torch.equal(crow.to(self.crow.dtype), self.crow)
            and torch.equal(col.to(self.col.dtype), self.col)
        )


class _Patterns:
    """The index patterns met so far (few: three matrices per nside), found by content."""

    def __init__(self) -> None:
        self._known: list[_Pattern] = []
        self.lock = threading.RLock()
        self._local = threading.local()

    @property
    def scratch(self) -> bool:
        """Whether this thread builds throw-away matrices (the pieces of a kernel build):
        CSR with 32-bit indices, no pattern kept, no transposed layout."""
        return bool(getattr(self._local, "scratch", False))

    @contextlib.contextmanager
    def scratch_matrices(self) -> Iterator[None]:
        """Within the block, :class:`_FastSparseTensor` builds scratch matrices (this thread)."""
        previous, self._local.scratch = self.scratch, True
        try:
            yield
        finally:
            self._local.scratch = previous

    def forget(self, matrix: torch.Tensor) -> None:
        """Drop the pattern whose index arrays ``matrix`` (CSR) holds."""
        with self.lock:
            ptr = matrix.col_indices().data_ptr()
            self._known = [p for p in self._known if p.col.data_ptr() != ptr]

    def find(self, crow: torch.Tensor, col: torch.Tensor, shape: tuple[int, int]) -> _Pattern:
        with self.lock:
            for pattern in self._known:
                if pattern.matches(crow, col, shape):
                    return pattern
            pattern = _Pattern(crow, col, shape)
            self._known.append(pattern)
            return pattern


class CsrPair:
    """One constant matrix ``W`` ``(n_in, n_out)`` laid out for ``x @ W`` and its gradient.

    On a GPU both CSR orientations are kept. On the CPU one is enough: scipy multiplies by
    the transpose of a CSR matrix in place (its arrays read as the CSC layout of the
    transpose, :func:`_transposed_mm`), with the very sums, in the very order, of a product
    by the transposed CSR layout, and this halves the memory of the matrices (at nside 128,
    the wavelets of every scale: about 220 MB instead of 440 MB).

    Attributes
    ----------
    w : torch.Tensor or None
        ``W``, CSR ``(n_in, n_out)``: the gradient's product (None: ``w_t`` serves it).
    w_t : torch.Tensor or None
        ``W^T``, CSR ``(n_out, n_in)``: the forward product (None: ``w`` serves it).
    """

    def __init__(self, w: torch.Tensor, patterns: _Patterns | None = None) -> None:
        if w.layout != torch.sparse_csr or w.dim() != 2:
            raise ValueError(
                f"expected a 2-D sparse CSR matrix, got layout {w.layout}, {w.dim()}-D"
            )
        shape = (int(w.shape[0]), int(w.shape[1]))
        crow, col, values = w.crow_indices(), w.col_indices(), w.values()
        pattern = (patterns or _Patterns()).find(crow, col, shape)
        if crow.dtype == pattern.crow.dtype and col.dtype == pattern.col.dtype:
            self.w: torch.Tensor | None = w  # already compact: no copy
        else:
            self.w = _csr(pattern.crow, pattern.col, values, shape)
        self.w_t: torch.Tensor | None = None
        if w.device.type != "cpu":
            crow_t, col_t = pattern.transposed()
            self.w_t = _csr(crow_t, col_t, pattern.transposed_values(values), shape[::-1])

    @property
    def shape(self) -> tuple[int, int]:
        if self.w is not None:
            return int(self.w.shape[0]), int(self.w.shape[1])
        assert self.w_t is not None
        return int(self.w_t.shape[1]), int(self.w_t.shape[0])


def _csr(
    crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]
) -> torch.Tensor:
    return torch.sparse_csr_tensor(
        crow,
        col,
        values,
        size=shape,
        check_invariants=False,  # valid by construction
    )


def _transposed_mm(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(a^T y^T)^T`` = ``y @ a`` for a CSR ``a`` ``(r, c)`` on the CPU and a dense ``y``
    ``(m, r)``: ``(m, c)``, contiguous.

    scipy reads ``a``'s arrays, without a copy, as the CSC layout of ``a^T``: each output
    entry is the sum, in the order of ``a``'s rows, that a product by ``a^T``'s own CSR
    layout computes (the same float rounding), with no transposed copy of ``a``.
    """
    import scipy.sparse as sp

    rows, cols = int(a.shape[0]), int(a.shape[1])
    a_t = sp.csc_matrix(
        (a.values().numpy(), a.col_indices().numpy(), a.crow_indices().numpy()),
        shape=(cols, rows),
        copy=False,
    )
    out = a_t @ y.detach().t().contiguous().numpy()  # (c, m)
    return torch.from_numpy(np.ascontiguousarray(out.T))


def _right_product(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(a y^T)^T`` for a CSR ``a`` ``(r, c)`` and a dense ``y`` ``(m, c)``: ``(m, r)``."""
    return torch.sparse.mm(a, y.t()).t().contiguous()


class SparseRightMatmul(torch.autograd.Function):
    """``y = x @ W`` for dense ``x`` ``(m, n_in)`` and a constant CSR ``W`` ``(n_in, n_out)``.

    Forward ``y = (W^T x^T)^T``, backward ``dL/dx = (W (dL/dy)^T)^T``: two sparse-times-dense
    products from the layout(s) of a :class:`CsrPair`, no re-layout. ``y`` is
    ``(m, n_out)``, contiguous. ``W`` gets no gradient.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, pair: CsrPair) -> torch.Tensor:  # noqa: D102
        ctx.pair = pair
        if pair.w_t is not None:
            return _right_product(pair.w_t, x)
        assert pair.w is not None
        return _transposed_mm(pair.w, x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None]:  # noqa: D102
        if not ctx.needs_input_grad[0]:
            return None, None
        pair = ctx.pair
        if pair.w is not None:
            return _right_product(pair.w, grad), None
        assert pair.w_t is not None
        return _transposed_mm(pair.w_t, grad), None


class _FastProduct:
    """A backend's ``bk_sparse_dense_matmul`` that multiplies dense by CSR with cached layouts.

    Any other product (sparse first, other dtypes, a matrix that needs a gradient) goes to
    ``original``. The cache holds each matrix it has seen (foscat keeps them for the life of
    the operator anyway), so that an ``id`` is never reused for another one.
    """

    def __init__(self, original: Any, patterns: _Patterns | None = None) -> None:
        self.original = original
        self.patterns = patterns or _Patterns()
        self._pairs: dict[int, tuple[torch.Tensor, CsrPair]] = {}

    def pair(self, w: torch.Tensor) -> CsrPair:
        """The cached :class:`CsrPair` of ``w`` (built on first use)."""
        with self.patterns.lock:
            entry = self._pairs.get(id(w))
            if entry is None or entry[0] is not w:
                entry = self._pairs[id(w)] = (w, CsrPair(w, self.patterns))
        return entry[1]

    def __call__(self, smat: torch.Tensor, mat: torch.Tensor) -> torch.Tensor:
        if isinstance(mat, _DeferredKernel):
            mat = mat.matrix()
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


class _FastSparseTensor:
    """A backend's ``bk_SparseTensor`` (COO entries -> CSR matrix, duplicates summed) built by
    scipy in O(nnz) instead of torch's sort, with 32-bit indices shared by the matrices of
    one pattern. Complex values and other shapes go to ``original``."""

    def __init__(self, original: Any, device: Any, patterns: _Patterns) -> None:
        self.original = original
        self.device = device
        self.patterns = patterns

    def __call__(self, indice: Any, w: Any, dense_shape: Any = ()) -> torch.Tensor:
        import scipy.sparse as sp

        shape = tuple(int(n) for n in dense_shape)
        index = torch.as_tensor(indice)
        values = torch.as_tensor(w)
        if (
            len(shape) != 2
            or index.dim() != 2
            or index.shape[0] != 2
            or values.dim() != 1
            or values.is_complex()
            or values.numel() != index.shape[1]
        ):
            return self.original(indice, w, dense_shape)
        rows, cols = index.detach().cpu().long().numpy()
        matrix = sp.coo_matrix((values.detach().cpu().numpy(), (rows, cols)), shape=shape).tocsr()
        matrix.sum_duplicates()  # as torch's coalesce, and sorted within each row
        data = torch.from_numpy(matrix.data).to(self.device, values.dtype)
        if self.patterns.scratch:  # a piece of a kernel build: kept for a moment only
            dtype = _index_dtype((shape[0], shape[1]), int(matrix.nnz))
            crow = torch.from_numpy(matrix.indptr).to(self.device, dtype)
            col = torch.from_numpy(matrix.indices).to(self.device, dtype)
            return _csr(crow, col, data, (shape[0], shape[1]))
        pattern = self.patterns.find(
            torch.from_numpy(matrix.indptr.astype(np.int64)).to(self.device),
            torch.from_numpy(matrix.indices.astype(np.int64)).to(self.device),
            (shape[0], shape[1]),
        )
        return _csr(pattern.crow, pattern.col, data, (shape[0], shape[1]))


class _FastDownGrade:
    """An operator's ``ud_grade_2`` (HEALPix, nside -> nside/2) as ``x @ M^T`` with the
    layouts of foscat's down-grading matrix ``M`` ``(K_out, K_in)`` cached (a
    :class:`CsrPair` of ``M^T``).

    foscat's ``SphereDownGeo`` computes ``M x`` with ``torch.sparse.mm``, whose gradient
    re-lays ``M^T`` out on every call. The down-grading module is still built by foscat (the
    first call for an nside goes to ``original``), and then holds ``M`` with 32-bit indices
    instead of its int64 ones. 1-D/2-D operators, complex maps and subset grids also go to
    ``original``.
    """

    def __init__(self, operator: Any, original: Any, patterns: _Patterns | None = None) -> None:
        self.operator = operator
        self.original = original
        self.patterns = patterns or _Patterns()
        self._pairs: dict[int, tuple[torch.Tensor, CsrPair]] = {}

    def __call__(
        self,
        im: Any,
        axis: int = 0,
        cell_ids: Any = None,
        nside: int | None = None,
        max_poll: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        op = self.operator
        down = None
        if isinstance(im, torch.Tensor) and not (op.use_2D or op.use_1D) and im.dim() >= 1:
            l_nside = int(np.sqrt(im.shape[-1] // 12)) if nside is None else int(nside)
            down = op.down.get(l_nside)
        matrix = getattr(down, "M", None)
        if (
            down is None
            or getattr(down, "mode", None) != "smooth"
            or not isinstance(matrix, torch.Tensor)
            or matrix.layout != torch.sparse_csr
            or matrix.shape[1] != im.shape[-1]
            or matrix.dtype != im.dtype
            or matrix.device != im.device
        ):
            return self.original(im, axis=axis, cell_ids=cell_ids, nside=nside, max_poll=max_poll)
        with self.patterns.lock:
            entry = self._pairs.get(id(matrix))
            if entry is None or entry[0] is not matrix:
                pair = _transposed_pair(matrix, self.patterns)
                down.M = matrix = pair.w_t  # foscat's int64 indices are not kept
                entry = self._pairs[id(matrix)] = (matrix, pair)
        shape = list(im.shape)
        out_cells = down.cell_ids_out_t.to(im.device)
        y = SparseRightMatmul.apply(im.reshape(-1, shape[-1]), entry[1])
        return y.reshape(shape[:-1] + [int(matrix.shape[0])]), out_cells


def _transposed_pair(m: torch.Tensor, patterns: _Patterns) -> CsrPair:
    """The :class:`CsrPair` of ``W = M^T`` for a CSR ``M``: ``w_t`` is ``M`` itself (with
    32-bit indices); ``w`` is built on a GPU only."""
    pair = CsrPair.__new__(CsrPair)
    shape = (int(m.shape[0]), int(m.shape[1]))
    pattern = patterns.find(m.crow_indices(), m.col_indices(), shape)
    pair.w_t = _csr(pattern.crow, pattern.col, m.values(), shape)
    pair.w = None
    if m.device.type != "cpu":
        crow_t, col_t = pattern.transposed()
        pair.w = _csr(crow_t, col_t, pattern.transposed_values(m.values()), shape[::-1])
    return pair


class _FastMaskedMean:
    """An operator's ``masked_mean`` on HEALPix maps as one matrix product per call.

    foscat forms ``mask * x`` for every (map, mask) pair, ``(n_maps, n_masks, npix)``, sums
    it, and also sums ``mask * x * x`` whether it returns the variance or not. Here
    ``v = x (m, npix) @ mask^T (npix, n_masks)``, divided by the masks' sums; the result has
    foscat's shape ``(n_batch, n_masks, *x.shape[1:-1])``. The variance (``calc_var=True``),
    median and 1-D/2-D variants go to ``original``.
    """

    def __init__(self, operator: Any, original: Any) -> None:
        self.operator = operator
        self.original = original

    def __call__(self, x: Any, mask: Any, rank: int = 0, calc_var: bool = False) -> torch.Tensor:
        op = self.operator
        real_dtype = x.real.dtype if isinstance(x, torch.Tensor) and x.is_complex() else None
        if (
            calc_var
            or op.use_2D
            or op.use_1D
            or op.use_median
            or not isinstance(x, torch.Tensor)
            or not isinstance(mask, torch.Tensor)
            or mask.dim() != 2
            or x.dim() < 1
            or x.shape[-1] != mask.shape[-1]
            or mask.dtype != (real_dtype or x.dtype)
            or mask.device != x.device
        ):
            return self.original(x, mask, rank=rank, calc_var=calc_var)
        shape = list(x.shape)
        npix = shape[-1]
        l_mask = mask
        if op.mask_norm:  # foscat's normalisation, term for term
            nside = int(np.sqrt(npix // 12))
            sum_mask = l_mask.reshape(l_mask.shape[0], npix).sum(1)
            l_mask = 12 * nside * nside * l_mask / sum_mask.reshape(l_mask.shape[0], 1)
        n_masks = int(l_mask.shape[0])
        n_in = shape[0] if len(shape) > 1 else 1
        n_other = int(np.prod(shape[1:-1])) if len(shape) > 2 else 1
        flat = x.reshape(n_in * n_other, npix)
        if real_dtype is not None:  # real and imaginary parts as rows 2i and 2i + 1
            parts = torch.view_as_real(flat).permute(0, 2, 1).reshape(-1, npix)
            sums = (parts @ l_mask.t()).reshape(-1, 2, n_masks).permute(0, 2, 1).contiguous()
            sums = torch.view_as_complex(sums)
        else:
            sums = flat @ l_mask.t()
        means = sums.reshape(n_in, n_other, n_masks).transpose(1, 2) / l_mask.sum(-1)[:, None]
        out_shape = [n_in, n_masks] + (shape[1:-1] if len(shape) > 2 else [1])
        return means.reshape(out_shape)


class _KernelCache:
    """An operator's ``init_index`` (the kernels of one grid) with a compact disk cache.

    foscat keeps its kernels on disk as COO entries (int64 pairs, complex128 values: 0.9 GB
    at nside 128) and re-sorts them in every process. The CSR matrices that it ends with
    (32-bit indices, float32 values: about a fifth of that) are saved next to foscat's files
    on first use and read back by later processes. ``scat_cov.eval`` also passes the cell ids
    of the coarser grids (all of them, for a full-sphere map) to ``convol``, and foscat
    neither reads nor writes its disk cache when given cell ids: full-sphere ids are dropped
    here, which gives the same kernels. The kernels of a region's cells (sorted ids: foscat's
    subset stencils, about 7 s at nside 512 for a 30 x 20 degree box) are kept alike, in a
    file named by a hash of the ids. Other grids and spins go to ``original``.
    """

    def __init__(self, operator: Any, original: Any, patterns: _Patterns) -> None:
        self.operator = operator
        self.original = original
        self.patterns = patterns

    def path(self, nside: int, cell_ids: np.ndarray | None = None) -> str:
        """The kernel file of a grid: the full sphere at ``nside``, or the cells ``cell_ids``
        (a region's, named by their count and a hash of the ids)."""
        op = self.operator
        region = ""
        if cell_ids is not None:
            ids = np.ascontiguousarray(cell_ids, dtype=np.int64)
            region = f"_R{ids.size}-{hashlib.sha1(ids.tobytes()).hexdigest()[:16]}"
        return (
            f"{op.TEMPLATE_PATH}/EOGAPFILL_CSR{_CACHE_VERSION}_{op.TMPFILE_VERSION}_W"
            f"{op.KERNELSZ**2}_{op.NORIENT}_{nside}{region}_{op.all_type}_{float(op.slope):g}.npz"
        )

    def __call__(self, nside: int, kernel: int = -1, cell_ids: Any = None, spin: int = 0) -> Any:
        op = self.operator
        if cell_ids is not None and spin == 0:
            ids = np.asarray(
                cell_ids.detach().cpu() if isinstance(cell_ids, torch.Tensor) else cell_ids
            )
            npix = 12 * int(nside) ** 2
            if ids.shape == (npix,) and np.array_equal(ids, np.arange(npix)):
                cell_ids = None
        if spin != 0 or kernel != -1 or op.use_2D or op.use_1D:
            return self.original(nside, kernel=kernel, cell_ids=cell_ids, spin=spin)
        ids = None
        if cell_ids is not None:  # a region's cells (the ids foscat was given, unchanged)
            ids = np.asarray(
                cell_ids.detach().cpu() if isinstance(cell_ids, torch.Tensor) else cell_ids
            )
            if ids.ndim != 1 or ids.size == 0 or np.any(np.diff(ids) <= 0):
                return self.original(nside, kernel=kernel, cell_ids=cell_ids, spin=spin)
        path = self.path(int(nside), ids)
        wavelets = self.read(path, _WAVELET_ARRAYS)
        if wavelets is not None:
            return (*self._matrices(wavelets), _DeferredKernel(self, int(nside), ids), None)
        n_cells = 12 * int(nside) ** 2 if ids is None else int(ids.size)
        if n_cells > _BUILD_PIECE:
            wr, wi, ws = self._build_in_pieces(int(nside), ids)
        else:
            wr, wi, ws, _ = self.original(nside, kernel=kernel, cell_ids=cell_ids, spin=0)
        op.Idx_Neighbours.pop(int(nside), None)  # foscat's int64 COO indices, not used again
        if self._save(path, wr, wi, ws):
            self.patterns.forget(ws)
            ws = _DeferredKernel(self, int(nside), ids)  # on disk until a product needs it
        return wr, wi, ws, None

    @staticmethod
    def read(path: str, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
        """The arrays ``names`` of a kernel file, or None when it is absent or unreadable."""
        try:
            with np.load(path) as saved:
                return {name: saved[name] for name in names}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None

    def _build_in_pieces(self, nside: int, ids: np.ndarray | None) -> tuple[torch.Tensor, ...]:
        """The kernels ``(wr, wi, ws)`` of a grid (the sphere, or the sorted cells ``ids``),
        built by foscat on pieces of :data:`_BUILD_PIECE` cells with a halo of
        :data:`_HALO_RINGS` rings of neighbours: the columns of a piece's cells are those of
        the whole grid, and the build holds one piece's COO entries at a time (foscat's whole
        build held about 4.5 GB at nside 128)."""
        op = self.operator
        universe = np.arange(12 * nside**2, dtype=np.int64) if ids is None else ids
        n = int(universe.size)
        wavelets: list[tuple[np.ndarray, ...]] = []
        smooth: list[tuple[np.ndarray, ...]] = []
        for core in np.array_split(universe, -(-n // _BUILD_PIECE)):
            local = _with_halo(nside, core, universe)
            with self.patterns.scratch_matrices():
                wr, wi, ws, _ = self.original(nside, kernel=-1, cell_ids=local, spin=0)
            op.Idx_Neighbours.pop(nside, None)
            position = np.searchsorted(universe, local)  # of each local cell in the grid
            in_core = (local >= core[0]) & (local <= core[-1])
            wavelets.append(_grid_entries(wr, position, in_core, n, wi))
            smooth.append(_grid_entries(ws, position, in_core, n))
            del wr, wi, ws
        n_orient = int(op.NORIENT)
        device = op.backend.torch_device
        return (
            *_assemble(wavelets, (n, n_orient * n), self.patterns, device),
            *_assemble(smooth, (n, n), self.patterns, device),
        )

    def _matrices(
        self,
        arrays: dict[str, np.ndarray],
        prefix: str = "w",
        names: tuple[str, ...] = ("real", "imag"),
    ) -> tuple[torch.Tensor, ...]:
        """The CSR matrices ``names`` (sharing the index arrays ``{prefix}_crow``,
        ``{prefix}_col``) of a kernel file's ``arrays``."""
        device = self.operator.backend.torch_device
        shape = (int(arrays[f"{prefix}_shape"][0]), int(arrays[f"{prefix}_shape"][1]))
        pattern = self.patterns.find(
            torch.from_numpy(arrays[f"{prefix}_crow"]).to(device),
            torch.from_numpy(arrays[f"{prefix}_col"]).to(device),
            shape,
        )
        out = []
        for name in names:
            values = torch.from_numpy(arrays[name]).to(device)
            out.append(_csr(pattern.crow, pattern.col, values, shape))
        return tuple(out)

    @staticmethod
    def _save(path: str, wr: Any, wi: Any, ws: Any) -> bool:
        """Write the CSR arrays (atomically: other processes may read the file at once);
        whether the file was written."""
        if not all(
            isinstance(m, torch.Tensor) and m.layout == torch.sparse_csr for m in (wr, wi, ws)
        ):
            return False
        if not (
            torch.equal(wr.crow_indices(), wi.crow_indices())
            and torch.equal(wr.col_indices(), wi.col_indices())
        ):
            return False
        arrays = {}
        for prefix, matrix in (("w", wr), ("s", ws)):
            dtype = (
                np.int32
                if _index_dtype(tuple(matrix.shape), matrix._nnz()) == torch.int32
                else np.int64
            )
            arrays[f"{prefix}_crow"] = matrix.crow_indices().cpu().numpy().astype(dtype)
            arrays[f"{prefix}_col"] = matrix.col_indices().cpu().numpy().astype(dtype)
            arrays[f"{prefix}_shape"] = np.asarray(matrix.shape, dtype=np.int64)
        for name, matrix in (("real", wr), ("imag", wi), ("smooth", ws)):
            arrays[name] = matrix.values().cpu().numpy()
        partial = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with open(partial, "wb") as stream:
                np.savez(stream, **arrays)
            os.replace(partial, path)
        except OSError:  # a read-only or full cache folder: foscat's own cache still serves
            with contextlib.suppress(OSError):
                os.remove(partial)
            return False
        return True


#: The arrays of a kernel file that hold the wavelets, and those of the smoothing matrix.
_WAVELET_ARRAYS = ("w_crow", "w_col", "w_shape", "real", "imag")
_SMOOTH_ARRAYS = ("s_crow", "s_col", "s_shape", "smooth")


class _DeferredKernel:
    """foscat's smoothing matrix of a grid, left in its kernel file until a product needs it.

    The scattering statistics never smooth with it (foscat's ``smooth`` does), and at nside
    128 it holds 28 MB. :class:`_FastProduct` reads it on first use (built again if the file
    has gone); :func:`uninstall` reads it for foscat's own product.
    """

    def __init__(self, cache: _KernelCache, nside: int, ids: np.ndarray | None) -> None:
        self.cache = cache
        self.nside = nside
        self.ids = ids
        self._matrix: torch.Tensor | None = None
        self._lock = threading.Lock()

    def matrix(self) -> torch.Tensor:
        """The CSR matrix ``(n, n)``, read (or built) once."""
        with self._lock:
            if self._matrix is None:
                arrays = self.cache.read(self.cache.path(self.nside, self.ids), _SMOOTH_ARRAYS)
                if arrays is not None:
                    (self._matrix,) = self.cache._matrices(arrays, "s", ("smooth",))
                else:  # the file has gone: the kernels are built (and written) again
                    self.cache.operator.Idx_Neighbours.pop(self.nside, None)
                    built = self.cache(self.nside, cell_ids=self.ids)[2]
                    self._matrix = built.matrix() if isinstance(built, _DeferredKernel) else built
            return self._matrix


#: Cells per piece of a kernel build (:meth:`_KernelCache._build_in_pieces`); a grid of at
#: most this many cells is built by foscat in one go.
_BUILD_PIECE = 4**7
#: Rings of neighbours around a piece: foscat's 3 x 3 stencils, interpolated from the 4
#: nearest cells, reach at most 3 rings out (2 at some places; checked equal with 3 and 4).
_HALO_RINGS = 4


def _with_halo(nside: int, core: np.ndarray, universe: np.ndarray) -> np.ndarray:
    """The sorted cells of ``universe`` (sorted NESTED ids) within :data:`_HALO_RINGS` rings
    of neighbours of the cells ``core``."""
    import healpy as hp

    cells, front = core, core
    for _ in range(_HALO_RINGS):
        near = hp.get_all_neighbours(nside, front, nest=True).reshape(-1)
        front = np.setdiff1d(np.unique(near[near >= 0]), cells, assume_unique=True)
        cells = np.union1d(cells, front)
    pos = np.minimum(np.searchsorted(universe, cells), universe.size - 1)
    return cells[universe[pos] == cells]


def _grid_entries(
    matrix: torch.Tensor,
    position: np.ndarray,
    in_core: np.ndarray,
    n: int,
    other: torch.Tensor | None = None,
) -> tuple[np.ndarray, ...]:
    """The entries of a piece's CSR ``matrix`` ``(m, G * m)`` in the columns of its core
    cells, on the grid of ``n`` cells: ``(rows, cols, values[, values of other])``, 32-bit.

    ``position`` (m,) is the grid position of each local cell, ``in_core`` (m,) marks the
    core; column ``g * m + j`` of the piece is column ``g * n + position[j]`` of the grid.
    ``other`` shares ``matrix``'s pattern (the imaginary wavelets)."""
    m = int(position.size)
    crow = matrix.crow_indices().cpu().numpy()
    col = matrix.col_indices().cpu().numpy().astype(np.int64)
    cell = col % m
    keep = in_core[cell]
    rows = position[np.repeat(np.arange(m), np.diff(crow))[keep]]
    cols = (col[keep] // m) * n + position[cell[keep]]
    index = (
        np.int32 if _index_dtype((n, int(matrix.shape[1]) // m * n), 0) == torch.int32 else np.int64
    )
    out = [rows.astype(index), cols.astype(index), matrix.values().cpu().numpy()[keep]]
    if other is not None:
        if not (
            torch.equal(other.crow_indices(), matrix.crow_indices())
            and torch.equal(other.col_indices(), matrix.col_indices())
        ):
            raise RuntimeError("foscat built the real and imaginary wavelets on other patterns")
        out.append(other.values().cpu().numpy()[keep])
    return tuple(out)


def _assemble(
    pieces: list[tuple[np.ndarray, ...]], shape: tuple[int, int], patterns: _Patterns, device: Any
) -> list[torch.Tensor]:
    """The CSR matrices (one per values array of the pieces, sharing one pattern) of the
    entries of :func:`_grid_entries` (no two pieces share a column: no duplicate)."""
    import scipy.sparse as sp

    rows = np.concatenate([piece[0] for piece in pieces])
    cols = np.concatenate([piece[1] for piece in pieces])
    out = []
    for k in range(2, len(pieces[0])):
        values = np.concatenate([piece[k] for piece in pieces])
        matrix = sp.csr_matrix((values, (rows, cols)), shape=shape)
        del values
        matrix.sort_indices()
        pattern = patterns.find(
            torch.from_numpy(matrix.indptr).to(device),
            torch.from_numpy(matrix.indices).to(device),
            shape,
        )
        out.append(_csr(pattern.crow, pattern.col, torch.from_numpy(matrix.data).to(device), shape))
    return out


def install(operator: Any) -> None:
    """Speed ``operator`` (a ``foscat.scat_cov.funct``) up on HEALPix maps, in place.

    Its backend builds its sparse matrices with scipy (``bk_SparseTensor``, 32-bit indices),
    multiplies by them (``bk_sparse_dense_matmul``: wavelets, smoothing) and down-grades maps
    (``ud_grade_2``) with cached layouts (:class:`SparseRightMatmul`), its ``masked_mean``
    is one matrix product, and its ``init_index`` keeps the kernels of every grid of a
    full-sphere map on disk as CSR matrices. Only this instance changes; idempotent. Install it before the
    operator's first evaluation for the faster kernel building.
    """
    backend = operator.backend
    product = backend.__dict__.get("bk_sparse_dense_matmul")
    if not isinstance(product, _FastProduct):
        product = backend.bk_sparse_dense_matmul = _FastProduct(backend.bk_sparse_dense_matmul)
    patterns = product.patterns
    if not isinstance(backend.__dict__.get("bk_SparseTensor"), _FastSparseTensor):
        backend.bk_SparseTensor = _FastSparseTensor(
            backend.bk_SparseTensor, backend.torch_device, patterns
        )
    if not isinstance(operator.__dict__.get("ud_grade_2"), _FastDownGrade):
        operator.ud_grade_2 = _FastDownGrade(operator, operator.ud_grade_2, patterns)
    if not isinstance(operator.__dict__.get("masked_mean"), _FastMaskedMean):
        operator.masked_mean = _FastMaskedMean(operator, operator.masked_mean)
    if not isinstance(operator.__dict__.get("init_index"), _KernelCache):
        operator.init_index = _KernelCache(operator, operator.init_index, patterns)


def uninstall(operator: Any) -> None:
    """Give ``operator`` foscat's own methods back (and drop the cached layouts)."""
    smoothing = getattr(operator, "w_smooth", None)
    if isinstance(smoothing, dict):  # foscat's own product needs the matrices themselves
        for key, matrix in list(smoothing.items()):
            if isinstance(matrix, _DeferredKernel):
                smoothing[key] = matrix.matrix()
    backend = operator.backend
    if isinstance(backend.__dict__.get("bk_sparse_dense_matmul"), _FastProduct):
        del backend.bk_sparse_dense_matmul
    if isinstance(backend.__dict__.get("bk_SparseTensor"), _FastSparseTensor):
        del backend.bk_SparseTensor
    for name, kind in (
        ("ud_grade_2", _FastDownGrade),
        ("masked_mean", _FastMaskedMean),
        ("init_index", _KernelCache),
    ):
        if isinstance(operator.__dict__.get(name), kind):
            delattr(operator, name)


def installed(operator: Any) -> bool:
    """Whether :func:`install` is in effect on ``operator``."""
    return (
        isinstance(operator.backend.__dict__.get("bk_sparse_dense_matmul"), _FastProduct)
        and isinstance(operator.backend.__dict__.get("bk_SparseTensor"), _FastSparseTensor)
        and isinstance(operator.__dict__.get("ud_grade_2"), _FastDownGrade)
        and isinstance(operator.__dict__.get("masked_mean"), _FastMaskedMean)
        and isinstance(operator.__dict__.get("init_index"), _KernelCache)
    )


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
