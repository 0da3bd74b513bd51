import CVulkan
import TensorRuntime

/// A Vulkan call that failed, with the call's name and the driver's result code.
public struct VulkanError: Error, CustomStringConvertible {
    public var call: String
    public var result: Int32

    public var description: String { "Vulkan \(call) failed: \(VulkanError.name(of: result)) (\(result))" }

    static func name(of result: Int32) -> String {
        switch result {
        case -1: return "VK_ERROR_OUT_OF_HOST_MEMORY"
        case -2: return "VK_ERROR_OUT_OF_DEVICE_MEMORY"
        case -3: return "VK_ERROR_INITIALIZATION_FAILED"
        case -4: return "VK_ERROR_DEVICE_LOST"
        case -5: return "VK_ERROR_MEMORY_MAP_FAILED"
        case -6: return "VK_ERROR_LAYER_NOT_PRESENT"
        case -7: return "VK_ERROR_EXTENSION_NOT_PRESENT"
        case -8: return "VK_ERROR_FEATURE_NOT_PRESENT"
        case -9: return "VK_ERROR_INCOMPATIBLE_DRIVER"
        case -10: return "VK_ERROR_TOO_MANY_OBJECTS"
        case -11: return "VK_ERROR_FORMAT_NOT_SUPPORTED"
        case -13: return "VK_ERROR_UNKNOWN"
        case 2: return "VK_TIMEOUT"
        default: return "VkResult"
        }
    }
}

/// Throws a `VulkanError` naming `call` unless `result` is VK_SUCCESS
/// (or VK_INCOMPLETE where the caller accepts partial enumeration).
@inline(__always)
func vkCheck(_ result: VkResult, _ call: @autoclosure () -> String) throws {
    guard result == VK_SUCCESS else { throw VulkanError(call: call(), result: result.rawValue) }
}

/// `VK_MAKE_API_VERSION(0, major, minor, patch)`; the C macro does not import into Swift.
func vkMakeAPIVersion(_ major: UInt32, _ minor: UInt32, _ patch: UInt32) -> UInt32 {
    (major << 22) | (minor << 12) | patch
}

func vkVersionString(_ v: UInt32) -> String { "\(v >> 22 & 0x7F).\(v >> 12 & 0x3FF).\(v & 0xFFF)" }

/// Reads a fixed-size C char array (imported as a tuple) as a String.
func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
}
