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

    /// "16x16x16 f16.f16+f32=f32 subgroup": what `medsam devices` prints per supported shape.
    var summary: String {
        func type(_ t: UInt32) -> String {
            // VkComponentTypeKHR: float16, float32, float64, sint8..sint64, uint8..uint64; bfloat16 is 1000141000.
            let names = ["f16", "f32", "f64", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64"]
            return t < UInt32(names.count) ? names[Int(t)] : (t == 1_000_141_000 ? "bf16" : "type\(t)")
        }
        let scopeName = [1: "device", 2: "workgroup", 3: "subgroup", 5: "queuefamily"][Int(scope)] ?? "scope\(scope)"
        return "\(mSize)x\(nSize)x\(kSize) \(type(aType)).\(type(bType))+\(type(cType))=\(type(resultType)) \(scopeName)"
    }

    static let componentFloat16: UInt32 = 0
    static let componentFloat32: UInt32 = 1
    static let scopeSubgroup: UInt32 = 3
}

typealias GetCooperativeMatrixPropertiesKHR = @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UInt32>?, UnsafeMutableRawPointer?) -> VkResult

/// M x N x K of one f16·f16 + f32 cooperative-matrix product at subgroup scope.
struct CooperativeMatrixFragment: Equatable {
    let m: Int, n: Int, k: Int

    /// In order of preference: NVIDIA and AMD list 16x16x16, Intel 8x16x16, lavapipe 8x8x8 (which
    /// is how CI runs the cooperative-matrix kernels).
    static let preferred = [CooperativeMatrixFragment(m: 16, n: 16, k: 16), CooperativeMatrixFragment(m: 8, n: 16, k: 16),
                            CooperativeMatrixFragment(m: 8, n: 8, k: 8)]
}
