/// Why a checkpoint could not be read. Every case says enough to fix the file or the call.
public enum CheckpointProblem: Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case unreadable(String)
    /// The file ends before a structure it declares.
    case truncated(String)
    /// Neither a zip (`.pth`) nor a safetensors file.
    case unknownFormat(String)
    /// The zip container is damaged (central directory, local headers, sizes).
    case corruptZip(String)
    /// A zip record's data lies (partly) outside the file.
    case recordOutOfBounds(record: String)
    /// A zip record that must exist (e.g. `…/data.pkl`, a storage) is missing.
    case missingRecord(String)
    /// A deflated record failed to decompress or a record uses an unsupported method.
    case decompression(record: String, detail: String)
    /// The pickle uses an opcode this reader does not implement.
    case unknownOpcode(opcode: UInt8, offset: Int)
    /// The pickle names a Python callable outside the allow-list. It is never called.
    case forbiddenGlobal(String)
    /// The pickle is structurally invalid (stack underflow, bad memo index, wrong argument types…).
    case malformedPickle(String)
    /// A tensor needs more bytes than its storage holds.
    case storageTooShort(tensor: String, neededBytes: Int, availableBytes: Int)
    /// A size, count or offset is beyond anything a real checkpoint holds, or overflows.
    case absurdSize(String)
    /// An element type this reader does not convert.
    case unsupportedDType(String)
    /// The safetensors JSON header is invalid (syntax, offsets, dtypes, shapes).
    case safetensorsHeader(String)
    /// The pickled object holds no state dict of tensors.
    case noStateDict(String)
    /// `load(key)` was called with a key the checkpoint does not hold.
    case unknownKey(String)

    public var description: String {
        switch self {
        case .unreadable(let s): return "cannot read file: \(s)"
        case .truncated(let s): return "file is truncated: \(s)"
        case .unknownFormat(let s): return "not a checkpoint: \(s)"
        case .corruptZip(let s): return "corrupt zip container: \(s)"
        case .recordOutOfBounds(let r): return "zip record '\(r)' points outside the file"
        case .missingRecord(let r): return "zip record '\(r)' is missing"
        case .decompression(let r, let d): return "cannot decompress zip record '\(r)': \(d)"
        case .unknownOpcode(let op, let off):
            return "unknown pickle opcode 0x\(String(op, radix: 16)) at pickle offset \(off)"
        case .forbiddenGlobal(let g):
            return "pickle asks for '\(g)', which is not on the allow-list of tensor-building globals; refused (nothing was executed)"
        case .malformedPickle(let s): return "malformed pickle: \(s)"
        case .storageTooShort(let t, let n, let a):
            return "tensor '\(t)' needs \(n) bytes but its storage holds \(a)"
        case .absurdSize(let s): return "absurd size: \(s)"
        case .unsupportedDType(let s): return "unsupported element type: \(s)"
        case .safetensorsHeader(let s): return "invalid safetensors header: \(s)"
        case .noStateDict(let s): return "no state dict found: \(s)"
        case .unknownKey(let k): return "no tensor named '\(k)'"
        }
    }
}

/// An error reading a checkpoint: the file and the problem.
public struct CheckpointError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var problem: CheckpointProblem

    public init(path: String, problem: CheckpointProblem) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
