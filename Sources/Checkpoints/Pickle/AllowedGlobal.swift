/// The only Python globals a checkpoint pickle may name. Each is interpreted by this reader
/// (rebuilding a tensor, making a dict); none is ever looked up or called in Python. Any other
/// name fails the load with `CheckpointProblem.forbiddenGlobal` naming it.
enum AllowedGlobal: Equatable {
    case rebuildTensorV2
    case rebuildTensor
    case rebuildParameter
    case rebuildParameterWithState
    case orderedDict
    /// `_codecs.encode(str, 'latin1')`: how protocol 2 spells a `bytes` object.
    case codecsEncode
    /// `torch.Size(tuple)`: a tuple.
    case torchSize
    /// A legacy `torch.<Name>Storage` class, used as the type tag inside persistent ids.
    case storageClass(StorageDType, name: String)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("_codecs", "encode"): self = .codecsEncode
        case ("torch", "Size"): self = .torchSize
        case ("torch", _):
            guard let dtype = StorageDType(torchStorageClass: name) else { return nil }
            self = .storageClass(dtype, name: name)
        default: return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildTensor: return "torch._utils._rebuild_tensor"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .orderedDict: return "collections.OrderedDict"
        case .codecsEncode: return "_codecs.encode"
        case .torchSize: return "torch.Size"
        case .storageClass(_, let name): return "torch.\(name)"
        }
    }
}
