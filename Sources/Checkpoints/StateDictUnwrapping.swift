/// How checkpoints wrap their state dict, undone the same way for every format:
/// training checkpoints nest it under `"model"` or `"state_dict"`, and DDP prefixes every key
/// with `module.`.
enum StateDictUnwrapping {
    /// Dict keys under which a state dict may be nested, tried in this order.
    static let wrapperKeys = ["model", "state_dict"]
    static let dataParallelPrefix = "module."

    /// Removes `module.` when every key carries it.
    static func strippingDataParallelPrefix<V>(_ entries: [(String, V)]) -> [(String, V)] {
        guard !entries.isEmpty, entries.allSatisfy({ $0.0.hasPrefix(dataParallelPrefix) }) else { return entries }
        return entries.map { (String($0.0.dropFirst(dataParallelPrefix.count)), $0.1) }
    }
}

extension PickleMachine {
    /// The tensors of the state dict inside `root`, in file order, unwrapped and un-prefixed.
    func stateDict(in root: PickleValue) throws -> [(String, TensorView)] {
        var current = root
        // At most a few levels of wrapping ({"model": {"state_dict": …}} is already unusual).
        for _ in 0..<4 {
            guard let entries = dictEntries(current) else {
                throw CheckpointError(path: path, problem: .noStateDict("the pickle holds a \(current.kindName), not a dict"))
            }
            let holdsTensors = entries.contains { if case .tensor = $0.value { return true } else { return false } }
            if !holdsTensors, let wrapped = StateDictUnwrapping.wrapperKeys.lazy.compactMap({ name in
                entries.first { entry in
                    guard case .string(let k) = entry.key, k == name else { return false }
                    return dictEntries(entry.value) != nil
                }
            }).first {
                current = wrapped.value
                continue
            }
            var tensors: [(String, TensorView)] = []
            for entry in entries {
                guard case .string(let key) = entry.key, case .tensor(let t) = entry.value else { continue }
                tensors.append((key, arena.tensors[t]))
            }
            guard !tensors.isEmpty else {
                let keys = entries.prefix(5).map { e -> String in
                    if case .string(let k) = e.key { return k } else { return e.key.kindName }
                }
                throw CheckpointError(path: path, problem: .noStateDict("the dict holds no tensors (keys: \(keys.joined(separator: ", ")))"))
            }
            return StateDictUnwrapping.strippingDataParallelPrefix(tensors)
        }
        throw CheckpointError(path: path, problem: .noStateDict("state dict nested too deeply"))
    }
}
