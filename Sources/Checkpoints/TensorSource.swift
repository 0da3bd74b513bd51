import TensorRuntime

/// A collection of named tensors read from a file (a checkpoint), by their original
/// PyTorch state-dict keys. Tensors are materialised as float32 on demand, one at a time,
/// so a graph compiler can stream weights into device buffers.
public protocol TensorSource: AnyObject {
    /// The file this came from, for error messages.
    var path: String { get }
    /// Every tensor's key and shape (after unwrapping `model`/`state_dict`/`module.`).
    var shapes: [String: Shape] { get }
    /// The tensor stored under `key`, converted to float32.
    func load(_ key: String) throws -> Tensor
}

/// A checkpoint file read by this module: a `TensorSource` that also tells how each tensor is
/// stored, for summaries (`medsam info --checkpoint`) and diagnostics.
public protocol CheckpointSource: TensorSource {
    /// Every key in file order (after unwrapping).
    var keys: [String] { get }
    /// The element type each tensor is stored as, before conversion to float32.
    var storedDTypes: [String: StorageDType] { get }
}
