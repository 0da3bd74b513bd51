import CVulkan
import Foundation
import TensorRuntime

/// Messages the Khronos validation layer reported through the debug-utils messenger.
public final class ValidationLog: @unchecked Sendable {
    private let lock = NSLock()
    private var errorMessages: [String] = []
    private var warningMessages: [String] = []

    /// Validation errors seen so far (each message text once per occurrence).
    public var errors: [String] { lock.lock(); defer { lock.unlock() }; return errorMessages }
    public var warnings: [String] { lock.lock(); defer { lock.unlock() }; return warningMessages }

    /// Also print each message to stderr (set from `MEDSAM_VULKAN_VALIDATION=1`, so command-line
    /// runs show what the layer found).
    let echo: Bool

    init(echo: Bool) { self.echo = echo }

    func record(error: Bool, _ message: String) {
        if echo { FileHandle.standardError.write(Data("vulkan validation \(error ? "error" : "warning"): \(message)\n".utf8)) }
        lock.lock(); defer { lock.unlock() }
        if error { errorMessages.append(message) } else { warningMessages.append(message) }
    }
}

private let debugCallback: PFN_vkDebugUtilsMessengerCallbackEXT = { severity, _, data, user in
    guard let user, let data else { return VkBool32(0) }
    let log = Unmanaged<ValidationLog>.fromOpaque(user).takeUnretainedValue()
    let message = data.pointee.pMessage.map { String(cString: $0) } ?? "(no message)"
    let isError = severity.rawValue & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue != 0
    log.record(error: isError, message)
    return VkBool32(0)
}

/// A `VkInstance`, optionally with the Khronos validation layer and a messenger feeding a `ValidationLog`.
final class VulkanInstance {
    static let validationLayerName = "VK_LAYER_KHRONOS_validation"

    let handle: VkInstance
    let apiVersion: UInt32
    let validationLog: ValidationLog?
    private var messenger: VkDebugUtilsMessengerEXT?

    /// - Parameter validation: enable VK_LAYER_KHRONOS_validation (throws if it is not installed).
    init(validation: Bool) throws {
        var loaderVersion: UInt32 = 0
        if vkEnumerateInstanceVersion(&loaderVersion) != VK_SUCCESS { loaderVersion = vkMakeAPIVersion(1, 0, 0) }
        guard loaderVersion >= vkMakeAPIVersion(1, 2, 0) else {
            throw BackendError.noDevice(backend: "vulkan",
                reason: "the Vulkan loader supports only \(vkVersionString(loaderVersion)); 1.2 or newer is needed")
        }
        apiVersion = min(loaderVersion, vkMakeAPIVersion(1, 3, 0))

        var layers: [String] = []
        var extensions: [String] = []
        if validation {
            guard VulkanInstance.availableLayers().contains(VulkanInstance.validationLayerName) else {
                throw BackendError.invalidArgument(
                    "Vulkan validation was requested but \(VulkanInstance.validationLayerName) is not installed (Debian: vulkan-validationlayers)")
            }
            layers.append(VulkanInstance.validationLayerName)
            extensions.append("VK_EXT_debug_utils")
        }

        var created: VkInstance?
        let log = validation ? ValidationLog(echo: VulkanBackend.environmentFlag("MEDSAM_VULKAN_VALIDATION") == true) : nil
        let api = apiVersion
        let result: VkResult = withCStrings(layers) { layerPtrs in
            withCStrings(extensions) { extPtrs in
                "medsam-swift".withCString { appName in
                    var app = VkApplicationInfo()
                    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
                    app.pApplicationName = appName
                    app.pEngineName = appName
                    app.apiVersion = api
                    return withUnsafePointer(to: &app) { appPtr in
                        var info = VkInstanceCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
                        info.pApplicationInfo = appPtr
                        info.enabledLayerCount = UInt32(layerPtrs.count)
                        info.ppEnabledLayerNames = layerPtrs.baseAddress
                        info.enabledExtensionCount = UInt32(extPtrs.count)
                        info.ppEnabledExtensionNames = extPtrs.baseAddress
                        return vkCreateInstance(&info, nil, &created)
                    }
                }
            }
        }
        if result == VK_ERROR_INCOMPATIBLE_DRIVER || result == VK_ERROR_INITIALIZATION_FAILED {
            throw BackendError.noDevice(backend: "vulkan",
                reason: "no Vulkan driver (ICD) is installed or it failed to start (\(VulkanError.name(of: result.rawValue)))")
        }
        try vkCheck(result, "vkCreateInstance")
        guard let instance = created else { throw VulkanError(call: "vkCreateInstance", result: -3) }
        handle = instance
        validationLog = log
        if let log { try installMessenger(log) }
    }

    deinit {
        if let messenger, let destroy = unsafeBitCast(
            vkGetInstanceProcAddr(handle, "vkDestroyDebugUtilsMessengerEXT"), to: PFN_vkDestroyDebugUtilsMessengerEXT?.self) {
            destroy(handle, messenger, nil)
        }
        vkDestroyInstance(handle, nil)
    }

    static func availableLayers() -> [String] {
        var count: UInt32 = 0
        guard vkEnumerateInstanceLayerProperties(&count, nil) == VK_SUCCESS, count > 0 else { return [] }
        var props = [VkLayerProperties](repeating: VkLayerProperties(), count: Int(count))
        guard vkEnumerateInstanceLayerProperties(&count, &props) == VK_SUCCESS else { return [] }
        return props.prefix(Int(count)).map { cString($0.layerName) }
    }

    func physicalDevices() throws -> [VkPhysicalDevice] {
        var count: UInt32 = 0
        try vkCheck(vkEnumeratePhysicalDevices(handle, &count, nil), "vkEnumeratePhysicalDevices")
        var devices = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        try vkCheck(vkEnumeratePhysicalDevices(handle, &count, &devices), "vkEnumeratePhysicalDevices")
        return devices.prefix(Int(count)).compactMap { $0 }
    }

    /// An instance-level entry point not exported by the loader (extensions).
    func function<T>(_ name: String, as type: T.Type) -> T? {
        guard let fn = vkGetInstanceProcAddr(handle, name) else { return nil }
        return unsafeBitCast(fn, to: type)
    }

    private func installMessenger(_ log: ValidationLog) throws {
        guard let create = function("vkCreateDebugUtilsMessengerEXT", as: PFN_vkCreateDebugUtilsMessengerEXT.self) else {
            throw VulkanError(call: "vkGetInstanceProcAddr(vkCreateDebugUtilsMessengerEXT)", result: -7)
        }
        var info = VkDebugUtilsMessengerCreateInfoEXT()
        info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT
        info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT.rawValue
        info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT.rawValue
        info.pfnUserCallback = debugCallback
        info.pUserData = Unmanaged.passUnretained(log).toOpaque()
        var created: VkDebugUtilsMessengerEXT?
        try vkCheck(create(handle, &info, nil, &created), "vkCreateDebugUtilsMessengerEXT")
        messenger = created
    }
}

/// Calls `body` with a C array of C strings that stay alive for the whole call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> R) -> R {
    let owned = strings.map { strdup($0) }
    defer { owned.forEach { free($0) } }
    let pointers = owned.map { UnsafePointer<CChar>($0) }
    return pointers.withUnsafeBufferPointer(body)
}
