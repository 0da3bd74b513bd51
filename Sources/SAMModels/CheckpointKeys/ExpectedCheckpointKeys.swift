import Foundation
import TensorRuntime

/// Every key and shape a published checkpoint of each model holds (docs/sam-spec.md §1.5, §2,
/// §3, §8.4, §8.5), so a checkpoint can be checked key by key.
///
/// Derived from the graph builders (`SAMModel.checkpointKeys`), the one description of a model's
/// weights: the parameters the graphs read plus the tensors the modules store that inference
/// never reads. The order is the builders' declaration order, not necessarily the file's.
public enum ExpectedCheckpointKeys {
    public static func shapes(for kind: ModelKind) -> [(key: String, shape: Shape)] {
        cache.withLock { tables in
            if let table = tables[kind] { return table }
            let table = SAMModel.checkpointKeys(kind.config)
            tables[kind] = table
            return table
        }
    }

    /// Recording a model's graphs takes milliseconds; recognition asks for the same tables repeatedly.
    private static let cache = LockedTables()
}

/// The derived tables, computed once per model and shared between threads.
private final class LockedTables: @unchecked Sendable {
    private let lock = NSLock()
    private var tables: [ModelKind: [(key: String, shape: Shape)]] = [:]

    func withLock<R>(_ body: (inout [ModelKind: [(key: String, shape: Shape)]]) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&tables)
    }
}
