import TensorRuntime
import Testing

/// Allocation failures are typed errors naming the backend, never a crash, and leave the
/// backend usable.
extension BackendConformance {
    @Test("an absurd allocation is a typed error and the backend still works", arguments: ConformanceBackend.all)
    func absurdAllocationIsATypedError(_ subject: ConformanceBackend) throws {
        let backend = try subject.open()
        let absurd = 1 << 50   // 4 PiB of float32: more than any device or address space holds
        let error = #expect(throws: BackendError.self) { _ = try backend.allocate(elementCount: absurd) }
        switch error {
        case .outOfMemory(let name, let bytes)?:
            #expect(name == subject.name)
            #expect(bytes >= absurd)
        case .invalidArgument(let message)?:
            // A limit the backend knows before asking the driver (indexing range, maxMemoryAllocationSize).
            #expect(message.hasPrefix(subject.name), "\(message)")
        case let other?:
            Issue.record("\(subject.name): expected outOfMemory or invalidArgument, got \(other)")
        case nil:
            break   // #expect(throws:) has recorded the missing error
        }

        let values = (0..<15).map { Float($0) * 0.25 - 1.5 }   // exact in float16 and float32
        let ref = try backend.makeTensor(Tensor(shape: [3, 5], data: values))
        let back = try backend.download(ref)
        #expect(back.shape == Shape([3, 5]))
        #expect(back.data == values)
    }
}
