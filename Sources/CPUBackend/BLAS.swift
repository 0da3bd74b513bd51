import CBLAS
import CPUVectorKernels
import Foundation

/// The one place that calls OpenBLAS.
///
/// The backend parallelises GEMMs itself (each worker multiplies its own block of rows or
/// columns), so OpenBLAS runs single-threaded: its own thread pool would fight the workers
/// for the cores, and calls made from inside a parallel region must not fan out again.
enum BLAS {
    /// Makes OpenBLAS single-threaded once per process, after `selectKernels()`.
    static let configured: Bool = {
        kernelSelection = selectKernels()
        openblas_set_num_threads(1)
        return true
    }()

    /// What `selectKernels` did, for `medsam devices`.
    private(set) static var kernelSelection = ""

    /// OpenBLAS builds with DYNAMIC_ARCH pick their kernels from the CPU model when the library
    /// loads. Debian 12's 0.3.21 does not know recent Xeons (Sapphire Rapids, family 6 model 143)
    /// and falls back to its generic "Prescott" kernels: SSE3, about 35 GFLOP/s on 2 cores here
    /// where its SkylakeX kernels reach about 180. When the detected kernels are weaker than the
    /// CPU's vector level (AVX-512 → SkylakeX, AVX2+FMA → Haswell), this selects the right ones
    /// through OpenBLAS's own switch (OPENBLAS_CORETYPE, then its exported re-initialisation),
    /// before any GEMM runs. An OPENBLAS_CORETYPE the user set is left alone.
    private static func selectKernels() -> String {
        let detected = coreName
        if let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            return "\(detected) (OPENBLAS_CORETYPE=\(forced))"
        }
        let strength: [String: Int] = ["Haswell": 1, "Zen": 1, "SkylakeX": 2, "Cooperlake": 2, "SapphireRapids": 2]
        let wanted: (name: String, strength: Int)
        switch cvk_x86_level_of_this_cpu() {
        case CVK_X86_AVX512: wanted = ("SkylakeX", 2)
        case CVK_X86_AVX2: wanted = ("Haswell", 1)
        default: return detected
        }
        guard (strength[detected] ?? 0) < wanted.strength,
              let quit = symbol("gotoblas_dynamic_quit"), let initialise = symbol("gotoblas_dynamic_init") else {
            return detected
        }
        setenv("OPENBLAS_CORETYPE", wanted.name, 1)
        quit()
        initialise()
        unsetenv("OPENBLAS_CORETYPE")
        return "\(coreName) (OpenBLAS detected \(detected); chosen from the CPU's vector level)"
    }

    /// A `void f(void)` exported by the loaded OpenBLAS, if it has it (DYNAMIC_ARCH builds do).
    private static func symbol(_ name: String) -> (@convention(c) () -> Void)? {
        guard let handle = dlopen(nil, RTLD_NOW), let p = dlsym(handle, name) else { return nil }
        return unsafeBitCast(p, to: (@convention(c) () -> Void).self)
    }

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
