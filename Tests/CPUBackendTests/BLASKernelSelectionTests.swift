import CPUVectorKernels
import XCTest
@testable import CPUBackend

/// OpenBLAS runs the kernels of this CPU's vector level, not a generic fallback: Debian's
/// OpenBLAS 0.3.21 takes Sapphire Rapids for a "Prescott" (SSE3) and multiplies 5x slower.
final class BLASKernelSelectionTests: XCTestCase {
    func testOpenBLASKernelsMatchTheCPU() throws {
        _ = CPUBackend(threads: 1)
        let name = BLAS.coreName
        print("  OpenBLAS kernels: \(BLAS.kernelSelection)")
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil {
            throw XCTSkip("OPENBLAS_CORETYPE is set: the user chose the kernels (\(name))")
        }
        switch cvk_x86_level_of_this_cpu() {
        case CVK_X86_AVX512:
            XCTAssertTrue(["SkylakeX", "Cooperlake", "SapphireRapids"].contains(name), "AVX-512 CPU runs OpenBLAS \(name)")
        case CVK_X86_AVX2:
            XCTAssertTrue(["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"].contains(name),
                          "AVX2 CPU runs OpenBLAS \(name)")
        default:
            break
        }
        // The switched kernels compute: a 64 x 48 x 40 product against a plain loop.
        let m = 64, n = 48, k = 40
        let a = (0..<(m * k)).map { Float(($0 * 7) % 13) - 6 }, b = (0..<(k * n)).map { Float(($0 * 5) % 11) - 5 }
        var c = [Float](repeating: 0, count: m * n)
        BLAS.sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n)
        for i in 0..<m {
            for j in 0..<n {
                let want = (0..<k).reduce(Float(0)) { $0 + a[i * k + $1] * b[$1 * n + j] }
                XCTAssertEqual(c[i * n + j], want, "c[\(i), \(j)]")
            }
        }
    }
}
