import Foundation
import TensorRuntime

/// Host memory of the CPU backend: one 64-byte aligned, zero-initialised float32 allocation.
///
/// Alignment to a cache line keeps vector loads of a row from straddling lines at the start of
/// every tensor that begins at offset 0, and lets OpenBLAS pick its aligned copy paths.
public final class CPUBuffer: DeviceBuffer {
    public let elementCount: Int
    /// First element; valid for `elementCount` floats while the buffer lives.
    let base: UnsafeMutablePointer<Float>

    init(elementCount: Int) throws {
        precondition(elementCount >= 0)
        let bytes = max(elementCount, 1) * MemoryLayout<Float>.stride
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            throw BackendError.outOfMemory(backend: "cpu", bytes: bytes)
        }
        memset(raw, 0, bytes)
        self.elementCount = elementCount
        self.base = raw.bindMemory(to: Float.self, capacity: max(elementCount, 1))
    }

    deinit { free(base) }
}

/// Per-worker scratch memory that grows on demand and is reused across ops, so kernels
/// allocate nothing in steady state.
final class ScratchArena {
    private var pointer: UnsafeMutablePointer<Float>?
    /// Floats currently reserved.
    private(set) var capacity = 0

    /// At least `count` floats; the contents are undefined. Valid until the next call.
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity || pointer == nil {
            free(pointer)
            let n = max(count, 1024)
            var raw: UnsafeMutableRawPointer?
            guard posix_memalign(&raw, 64, n * MemoryLayout<Float>.stride) == 0, let raw else {
                fatalError("cpu backend: could not allocate \(n * 4) bytes of scratch memory")
            }
            pointer = raw.bindMemory(to: Float.self, capacity: n)
            capacity = n
        }
        return pointer!
    }

    /// Returns the memory to the system (after a large op, to keep the resident size low).
    func release() {
        free(pointer)
        pointer = nil
        capacity = 0
    }

    deinit { free(pointer) }
}
