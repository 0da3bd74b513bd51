import CVulkan

// VK_KHR_cooperative_matrix postdates the Vulkan headers Debian ships (1.3.239), so its structs
// are declared here with the registry's layout and enum values.

let cooperativeMatrixExtensionName = "VK_KHR_cooperative_matrix"
let structureTypeCooperativeMatrixFeaturesKHR = VkStructureType(rawValue: 1_000_506_000)
let structureTypeCooperativeMatrixPropertiesKHR = VkStructureType(rawValue: 1_000_506_001)

/// `VkPhysicalDeviceCooperativeMatrixFeaturesKHR`.
struct CooperativeMatrixFeaturesKHR {
    var sType = structureTypeCooperativeMatrixFeaturesKHR
    var pNext: UnsafeMutableRawPointer? = nil
    var cooperativeMatrix: VkBool32 = 0
    var cooperativeMatrixRobustBufferAccess: VkBool32 = 0
}

/// `VkCooperativeMatrixPropertiesKHR`: one supported (M, N, K, types, scope) combination.
struct CooperativeMatrixPropertiesKHR {
    var sType = structureTypeCooperativeMatrixPropertiesKHR
    var pNext: UnsafeMutableRawPointer? = nil
    var mSize: UInt32 = 0
    var nSize: UInt32 = 0
    var kSize: UInt32 = 0
    var aType: UInt32 = 0
    var bType: UInt32 = 0
    var cType: UInt32 = 0
    var resultType: UInt32 = 0
    var saturatingAccumulation: VkBool32 = 0
    var scope: UInt32 = 0

    static let componentFloat16: UInt32 = 0
    static let componentFloat32: UInt32 = 1
    static let scopeSubgroup: UInt32 = 3
}

typealias GetCooperativeMatrixPropertiesKHR = @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UInt32>?, UnsafeMutableRawPointer?) -> VkResult
