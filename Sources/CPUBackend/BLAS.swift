import CBLAS

/// The one place that calls OpenBLAS.
///
/// The backend parallelises GEMMs itself (each worker multiplies its own block of rows or
/// columns), so OpenBLAS runs single-threaded: its own thread pool would fight the workers
/// for the cores, and calls made from inside a parallel region must not fan out again.
enum BLAS {
    /// Makes OpenBLAS single-threaded once per process.
    static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Row-major `C = alpha · op(A) · op(B) + beta · C`, with op(A) `m × k` and op(B) `k × n`.
    /// A `k` of 0 gives `beta · C` (0 when beta is 0) without calling BLAS.
    @inline(__always)
    static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// OpenBLAS's description of the kernels it selected for this CPU (e.g. "Haswell").
    static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }
}
