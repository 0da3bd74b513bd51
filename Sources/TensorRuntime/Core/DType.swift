/// Element type of a device buffer.
///
/// Host tensors are always float32; a backend may store activations and weights as
/// float16 on the device (its fp16 path), converting at upload and download.
public enum DType: String, Sendable, Codable, CaseIterable {
    case float32
    case float16

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32: return 4
        case .float16: return 2
        }
    }
}
