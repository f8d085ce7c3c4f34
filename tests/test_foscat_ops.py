"""Tests of the cached-layout sparse products that replace foscat's own at run time."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("foscat")

from eogapfill.fill.foscat import ops as foscat_ops  # noqa: E402
from eogapfill.fill.foscat.adapter import import_foscat, scat_operator  # noqa: E402
from eogapfill.fill.foscat.problem import Problem, loss_function, run_member  # noqa: E402
from eogapfill.fill.masks import local_masks  # noqa: E402

NSIDE = 16
pytestmark = pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _random_csr(n_in: int, n_out: int, seed: int, dtype: torch.dtype) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n_in, n_out)) * (rng.random((n_in, n_out)) < 0.2)
    return torch.tensor(dense, dtype=dtype).to_sparse_csr()


def _transposed_layout(w: torch.Tensor) -> torch.Tensor:
    """``W^T``'s own CSR layout, as a GPU's :class:`CsrPair` keeps it."""
    pattern = foscat_ops._Pattern(w.crow_indices(), w.col_indices(), tuple(w.shape))
    crow_t, col_t = pattern.transposed()
    return foscat_ops._csr(crow_t, col_t, pattern.transposed_values(w.values()), w.shape[::-1])


@pytest.mark.parametrize("layouts", ["W", "W^T", "both"])
def test_product_and_gradient_equal_the_dense_ones(layouts: str) -> None:
    w = _random_csr(12, 30, 0, torch.float64)
    x = torch.randn(3, 12, dtype=torch.float64, requires_grad=True)
    pair = foscat_ops.CsrPair(w)
    if layouts != "W":
        pair.w_t = _transposed_layout(w)
        pair.w = None if layouts == "W^T" else pair.w
    assert pair.shape == (12, 30)
    y = foscat_ops.SparseRightMatmul.apply(x, pair)
    assert y.shape == (3, 30) and y.is_contiguous() and y.dtype == x.dtype
    torch.testing.assert_close(y, x.detach() @ w.to_dense())
    assert torch.autograd.gradcheck(lambda t: foscat_ops.SparseRightMatmul.apply(t, pair), (x,))


def test_one_layout_gives_the_sums_of_the_other_bit_for_bit() -> None:
    """On the CPU a matrix keeps one CSR layout: the product by its transpose (scipy) runs
    the same sums in the same order as a product by the transposed layout (torch)."""
    w = _random_csr(300, 1200, 4, torch.float32)
    w_t = _transposed_layout(w)
    x = torch.randn(4, 300)
    g = torch.randn(4, 1200)
    forward = foscat_ops._transposed_mm(w, x)
    assert torch.equal(forward, foscat_ops._right_product(w_t, x))
    assert torch.equal(foscat_ops._transposed_mm(w_t, g), foscat_ops._right_product(w, g))
    assert forward.is_contiguous() and forward.shape == (4, 1200)


def test_csr_pair_keeps_one_32_bit_layout_on_the_cpu_and_rejects_dense() -> None:
    w = _random_csr(8, 16, 1, torch.float32)
    assert w.crow_indices().dtype == torch.int64
    pair = foscat_ops.CsrPair(w)
    assert pair.w.crow_indices().dtype == torch.int32
    assert pair.w.col_indices().dtype == torch.int32
    assert pair.w_t is None  # the forward product reads w's arrays
    with pytest.raises(ValueError, match="CSR"):
        foscat_ops.CsrPair(torch.ones(3, 3))


def test_sparse_matrices_built_as_torch_builds_them() -> None:
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 20, 200)
    cols = rng.integers(0, 50, 200)  # with duplicates, summed
    index = torch.tensor(np.stack([rows, cols]), dtype=torch.float32)  # foscat casts them so
    values = torch.tensor(rng.normal(size=200), dtype=torch.float32)

    def original(indice: torch.Tensor, w: torch.Tensor, dense_shape: list) -> torch.Tensor:
        coo = torch.sparse_coo_tensor(indice.long(), w, dense_shape)
        return coo.coalesce().to_sparse_csr()

    patterns = foscat_ops._Patterns()
    build = foscat_ops._FastSparseTensor(original, torch.device("cpu"), patterns)
    got = build(index, values, [20, 50])
    expected = original(index, values, [20, 50])
    assert got.crow_indices().dtype == torch.int32
    torch.testing.assert_close(got.to_dense(), expected.to_dense())
    np.testing.assert_array_equal(got.col_indices().numpy(), expected.col_indices().numpy())
    # a second matrix with the same entries shares the index arrays
    other = build(index, 2 * values, [20, 50])
    assert other.col_indices().data_ptr() == got.col_indices().data_ptr()
    pair = foscat_ops.CsrPair(other, patterns)
    assert pair.w is other  # already compact: no copy
    x = torch.randn(3, 20)
    torch.testing.assert_close(foscat_ops.SparseRightMatmul.apply(x, pair), x @ other.to_dense())


def test_other_products_go_to_the_original() -> None:
    calls = []

    def original(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return a

    product = foscat_ops._FastProduct(original)
    w = _random_csr(6, 10, 2, torch.float32)
    x = torch.randn(2, 6)
    torch.testing.assert_close(product(x, w), x @ w.to_dense())
    assert not calls
    product(x, w.to_dense())  # dense by dense
    product(torch.complex(x, x), w)  # complex maps
    product(x.double(), w)  # mixed dtypes
    assert len(calls) == 3
    assert product.pair(w) is product.pair(w)  # one layout per matrix


@pytest.mark.parametrize("complex_maps", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("shape", [(48 * 64,), (2, 48 * 64), (2, 4, 48 * 64), (1, 4, 4, 48 * 64)])
def test_masked_mean_equals_foscats(operator: object, shape: tuple, complex_maps: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen)
    if complex_maps:
        x = torch.complex(x, torch.randn(shape, generator=gen))
    masks = torch.rand((3, shape[-1]), generator=gen)
    fast = operator.masked_mean
    assert isinstance(fast, foscat_ops._FastMaskedMean)
    expected = fast.original(x, masks)
    got = fast(x, masks)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    # the variance goes to foscat's own code
    mean, std = fast(x, masks, calc_var=True)
    torch.testing.assert_close(mean, expected)


def test_down_grading_equals_foscats(operator: object) -> None:
    x = torch.randn(3, 2, 12 * 32**2, requires_grad=True)
    fast = operator.ud_grade_2
    assert isinstance(fast, foscat_ops._FastDownGrade)
    expected, cells = fast.original(x)  # builds foscat's module for nside 32
    got, got_cells = fast(x)
    assert got.shape == expected.shape == (3, 2, 12 * 16**2)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(got_cells, cells)
    weights = torch.randn(expected.shape)
    (grad_expected,) = torch.autograd.grad((expected * weights).sum(), x)
    (grad_got,) = torch.autograd.grad((got * weights).sum(), x)
    torch.testing.assert_close(grad_got, grad_expected)
    matrix = operator.down[32].M  # foscat's module now holds M with 32-bit indices
    assert matrix.col_indices().dtype == torch.int32 and matrix.layout == torch.sparse_csr
    again, _ = fast.original(x.detach())  # which foscat's own product still reads
    torch.testing.assert_close(again, expected.detach())


@pytest.fixture(scope="module")
def operator() -> object:
    """An operator of its own with the fast methods (the package's, shared by the fills of
    this thread, stays untouched)."""
    scat_cov, _, _ = import_foscat()
    operator = scat_cov.funct(silent=True)
    foscat_ops.install(operator)
    return operator


@pytest.fixture(scope="module")
def plain() -> object:
    """An operator with foscat's own methods."""
    scat_cov, _, _ = import_foscat()
    return scat_cov.funct(silent=True)


def test_kernels_are_kept_on_disk_as_csr(tmp_path: object) -> None:
    scat_cov, _, _ = import_foscat()
    x = torch.tensor(_small_case()["x"].astype("float32"))
    first = scat_cov.funct(silent=True, TEMPLATE_PATH=str(tmp_path))
    foscat_ops.install(first)
    expected = first.eval(x)
    saved = sorted(p.name for p in tmp_path.glob("EOGAPFILL_CSR*.npz"))
    assert any("_16_" in name for name in saved) and any("_8_" in name for name in saved)
    assert not list(tmp_path.glob("*.tmp"))

    second = scat_cov.funct(silent=True, TEMPLATE_PATH=str(tmp_path))
    foscat_ops.install(second)
    built = []
    original = second.init_index.original
    second.init_index.original = lambda *args, **kwargs: (
        built.append(args) or original(*args, **kwargs)
    )
    got = second.eval(x)
    assert not built  # every grid read back from the CSR files
    for name in ("S0", "S1", "S2", "S3", "S4"):
        np.testing.assert_array_equal(getattr(got, name).numpy(), getattr(expected, name).numpy())

    for path in tmp_path.glob("EOGAPFILL_CSR*.npz"):  # a damaged file is built again
        path.write_bytes(b"PK not a zip file")
    third = scat_cov.funct(silent=True, TEMPLATE_PATH=str(tmp_path))
    foscat_ops.install(third)
    again = third.eval(x)
    np.testing.assert_array_equal(again.S2.numpy(), expected.S2.numpy())


def test_smoothing_matrix_is_read_when_a_product_needs_it(tmp_path: object) -> None:
    """The statistics never smooth: the smoothing matrix stays in its kernel file until a
    product needs it (read back, or built again if the file has gone), equal to foscat's."""
    scat_cov, _, _ = import_foscat()
    x = torch.tensor(_small_case()["x"].astype("float32"))
    own = scat_cov.funct(silent=True, TEMPLATE_PATH=str(tmp_path / "own"))
    expected = own.smooth(x)  # foscat's own kernels and product

    for attempt in ("built", "read back", "file gone"):
        fast = scat_cov.funct(silent=True, TEMPLATE_PATH=str(tmp_path / "fast"))
        foscat_ops.install(fast)
        fast.eval(x)
        assert isinstance(fast.w_smooth[(0, NSIDE)], foscat_ops._DeferredKernel), attempt
        if attempt == "file gone":
            for path in (tmp_path / "fast").glob(f"EOGAPFILL_CSR*_{NSIDE}_*.npz"):
                path.unlink()
        torch.testing.assert_close(fast.smooth(x), expected, rtol=1e-6, atol=1e-6)
    foscat_ops.uninstall(fast)  # foscat's own product gets the matrices themselves
    assert all(isinstance(m, torch.Tensor) for m in fast.w_smooth.values())
    torch.testing.assert_close(fast.smooth(x), expected, rtol=1e-6, atol=1e-6)


def test_region_kernels_are_kept_on_disk_as_csr(tmp_path: object) -> None:
    """A region's subset kernels (every scale) are saved once and read back, equal."""
    from eogapfill.healpix import region_cells

    scat_cov, _, _ = import_foscat()
    nside = 32
    ids = np.asarray(region_cells(nside, (-80.0, -50.0, 25.0, 45.0)))
    x = torch.tensor(np.random.default_rng(3).normal(size=ids.size).astype("float32"))
    mask = torch.ones((1, ids.size))
    first = scat_cov.funct(silent=True, TEMPLATE_PATH=str(tmp_path))
    foscat_ops.install(first)
    expected = first.eval(x, mask=mask, cell_ids=ids, nside=nside)
    saved = sorted(p.name for p in tmp_path.glob("EOGAPFILL_CSR*_R*.npz"))
    assert any(f"_{nside}_R{ids.size}-" in name for name in saved) and len(saved) >= 2

    second = scat_cov.funct(silent=True, TEMPLATE_PATH=str(tmp_path))
    foscat_ops.install(second)
    built = []
    original = second.init_index.original
    second.init_index.original = lambda *args, **kwargs: (
        built.append(args) or original(*args, **kwargs)
    )
    got = second.eval(x, mask=mask, cell_ids=ids, nside=nside)
    assert not built  # every scale read back from the CSR files
    for name in ("S1", "S2", "S3", "S4"):
        np.testing.assert_array_equal(getattr(got, name).numpy(), getattr(expected, name).numpy())


def _scipy_csr(matrix: torch.Tensor) -> object:
    import scipy.sparse as sp

    return sp.csr_matrix(
        (
            matrix.values().numpy().astype("float64"),
            matrix.col_indices().numpy(),
            matrix.crow_indices().numpy(),
        ),
        shape=tuple(matrix.shape),
    )


@pytest.mark.parametrize("region", [False, True])
def test_kernels_built_in_pieces_equal_foscats_in_one_go(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, region: bool
) -> None:
    """Built on pieces of 64 cells with a halo (the way a large grid is built), the wavelet
    and smoothing kernels equal those foscat builds on the whole grid, entry for entry,
    with 32-bit indices; foscat's int64 COO indices are not kept."""
    from eogapfill.healpix import region_cells

    scat_cov, _, _ = import_foscat()
    nside = 32
    ids = np.asarray(region_cells(nside, (-80.0, -50.0, 25.0, 45.0))) if region else None
    whole = scat_cov.funct(silent=True, TEMPLATE_PATH=str(tmp_path / "whole"))
    expected = whole.init_index(nside, cell_ids=ids)[:3]

    monkeypatch.setattr(foscat_ops, "_BUILD_PIECE", 64)
    pieces = scat_cov.funct(silent=True, TEMPLATE_PATH=str(tmp_path / "pieces"))
    foscat_ops.install(pieces)
    calls = []
    original = pieces.init_index.original
    pieces.init_index.original = lambda *args, **kwargs: (
        calls.append(kwargs.get("cell_ids")) or original(*args, **kwargs)
    )
    got = pieces.init_index(nside, cell_ids=ids)[:3]
    n_cells = 12 * nside**2 if ids is None else ids.size
    assert len(calls) == -(-n_cells // 64)  # one foscat build per piece
    assert all(c is not None and c.size < n_cells for c in calls)
    assert nside not in pieces.Idx_Neighbours
    assert isinstance(got[2], foscat_ops._DeferredKernel)  # the smoothing, left on disk
    got = (*got[:2], got[2].matrix())
    for want, have in zip(expected, got, strict=True):
        assert have.layout == torch.sparse_csr and have.col_indices().dtype == torch.int32
        assert tuple(have.shape) == tuple(want.shape)
        difference = abs(_scipy_csr(have) - _scipy_csr(want)).max()
        assert difference <= 1e-6 * abs(_scipy_csr(want)).max()
    assert list((tmp_path / "pieces").glob("EOGAPFILL_CSR*.npz"))  # and kept on disk


def test_package_operator_is_fast() -> None:
    scat_cov, _, _ = import_foscat()
    assert foscat_ops.installed(scat_operator(scat_cov))


def test_install_is_idempotent_and_uninstall_restores() -> None:
    scat_cov, _, _ = import_foscat()
    operator = scat_cov.funct(silent=True)
    foscat_ops.install(operator)
    assert foscat_ops.installed(operator)
    foscat_ops.install(operator)
    product = operator.backend.bk_sparse_dense_matmul
    assert isinstance(product, foscat_ops._FastProduct)
    assert not isinstance(product.original, foscat_ops._FastProduct)
    assert not isinstance(operator.masked_mean.original, foscat_ops._FastMaskedMean)
    assert not isinstance(operator.ud_grade_2.original, foscat_ops._FastDownGrade)
    foscat_ops.uninstall(operator)
    assert not foscat_ops.installed(operator)
    assert "masked_mean" not in vars(operator) and "ud_grade_2" not in vars(operator)
    foscat_ops.uninstall(operator)
    previous = foscat_ops.set_enabled(False)
    try:
        assert not foscat_ops.installed(foscat_ops.configure(operator))
    finally:
        foscat_ops.set_enabled(previous)
    assert foscat_ops.installed(foscat_ops.configure(operator)) is previous


def _small_case(nside: int = NSIDE, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    npix = 12 * nside**2
    x = np.cumsum(rng.normal(size=npix)) / np.sqrt(npix)  # NESTED: correlated along the curve
    ref = x + 0.3 * rng.normal(size=npix)
    gaps = rng.random(npix) < 0.3
    return {"x": x, "ref": ref, "gaps": gaps, "masks": local_masks(nside)}


@pytest.mark.parametrize("nside", [16, 32])
def test_loss_and_gradient_equal_foscats_own(operator: object, plain: object, nside: int) -> None:
    """Equal to float32 rounding: statistics to the rounding of their largest coefficient
    (small S3/S4 coefficients are sums that cancel), the loss of a map against foscat's own
    reference statistics and its gradient. Each operator builds its own kernels."""
    case = _small_case(nside)
    size = 16
    blocks = [(size, torch.arange(0, 12 * nside**2 // size, 3), torch.zeros(4 * nside**2 // size))]
    names = ("S0", "S1", "S2", "S3", "S4")
    bk = plain.backend
    masks = bk.bk_cast(case["masks"].astype("float32"))
    ref = plain.eval(bk.bk_cast(case["ref"].astype("float32")), mask=masks)

    def run(scat: object) -> tuple[dict[str, np.ndarray], float, np.ndarray]:
        stats = scat.eval(bk.bk_cast(case["ref"].astype("float32")), mask=masks)
        x = torch.tensor(case["x"].astype("float32"), requires_grad=True)
        loss = loss_function(x, scat, (ref, masks, 10.0, blocks, 0.0, None, 1.0))
        (grad,) = torch.autograd.grad(loss, x)
        arrays = {name: getattr(stats, name).detach().numpy() for name in names}
        return arrays, loss.item(), grad.numpy().astype("float64")

    stats_before, loss_before, grad_before = run(plain)
    stats_after, loss_after, grad_after = run(operator)
    assert foscat_ops.installed(operator) and not foscat_ops.installed(plain)
    for name in names:
        scale = np.abs(stats_before[name]).max()
        np.testing.assert_allclose(stats_after[name], stats_before[name], rtol=0, atol=1e-5 * scale)
    assert loss_before > 0
    np.testing.assert_allclose(loss_after, loss_before, rtol=1e-5)
    scale = np.abs(grad_before).max()
    np.testing.assert_allclose(grad_after, grad_before, rtol=0, atol=2e-4 * scale)
    assert np.corrcoef(grad_after, grad_before)[0, 1] > 1 - 1e-8


def test_synthesis_keeps_observed_cells_bit_identical() -> None:
    case = _small_case(seed=1)
    npix = 12 * NSIDE**2
    masks = case["masks"]
    problem = Problem(
        nside=NSIDE,
        starts=case["x"][None, :],
        noise_std=0.1,
        gaps=case["gaps"],
        ref_map=case["ref"],
        ref_masks=masks,
        learn_masks=masks,
        anchor=0.0,
        n_epochs=3,
    )
    values, history = run_member(problem, seed=0, threads=1)
    assert values.shape == (npix,)
    start = case["x"].astype("float32").astype("float64")
    observed = ~case["gaps"]
    np.testing.assert_array_equal(values[observed], start[observed])
    assert np.mean(values[case["gaps"]] != start[case["gaps"]]) > 0.9
    assert history[-1] < history[0]


def _resident_mb() -> float:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_released_free_memory_leaves_the_resident_set() -> None:
    """Blocks freed between blocks still in use stay resident (glibc keeps them for reuse)
    until :func:`release_free_memory` gives them back."""
    from eogapfill.fill.foscat.adapter import release_free_memory

    kept, freed = [], []
    for _ in range(1000):  # 64 kB blocks (under glibc's mmap threshold), every other one
        freed.append(np.ones(8_000))  # freed: holes between blocks in use
        kept.append(np.ones(8_000))
    before = _resident_mb()
    del freed
    after_free = _resident_mb()
    assert after_free > before - 32  # most of the 64 MB freed is still resident
    if not release_free_memory():
        pytest.skip("the C library has no malloc_trim (not glibc)")
    assert _resident_mb() < after_free - 48  # and given back
    assert all(float(block.sum()) == 8_000.0 for block in kept)
