import COpenCL
import TensorRuntime

/// One OpenCL device and the properties the backend uses to pick kernels and tile sizes.
struct CLDevice {
    var platform: cl_platform_id
    var id: cl_device_id
    var platformName: String
    var name: String
    var vendor: String
    var driverVersion: String
    var deviceVersion: String
    var isGPU: Bool
    var isCPU: Bool
    var computeUnits: Int
    var maxWorkGroupSize: Int
    var maxWorkItemSizes: [Int]
    var localMemBytes: Int
    var globalMemBytes: UInt64
    var maxAllocBytes: UInt64
    var extensions: Set<String>

    var hasFloat16: Bool { extensions.contains("cl_khr_fp16") }

    /// Every device of every platform the ICD loader knows, in platform then device order.
    static func all() throws -> [CLDevice] {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        // ocl-icd answers CL_PLATFORM_NOT_FOUND_KHR when no ICD is installed.
        if status == -1001 || platformCount == 0 {
            throw BackendErrorReason.noPlatform
        }
        try clCheck(status, "clGetPlatformIDs(count)")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try clCheck(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs(list)")
        var result: [CLDevice] = []
        for case let platform? in platforms {
            var deviceCount: cl_uint = 0
            let s = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if s == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
            try clCheck(s, "clGetDeviceIDs(count)")
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try clCheck(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil),
                        "clGetDeviceIDs(list)")
            let platformName = try CLInfo.platformString(platform, CL_PLATFORM_NAME, "CL_PLATFORM_NAME")
            for case let id? in ids {
                result.append(try CLDevice(platform: platform, id: id, platformName: platformName))
            }
        }
        if result.isEmpty { throw BackendErrorReason.noDevices }
        return result
    }

    init(platform: cl_platform_id, id: cl_device_id, platformName: String) throws {
        self.platform = platform
        self.id = id
        self.platformName = platformName
        name = try CLInfo.deviceString(id, CL_DEVICE_NAME, "CL_DEVICE_NAME")
        vendor = try CLInfo.deviceString(id, CL_DEVICE_VENDOR, "CL_DEVICE_VENDOR")
        driverVersion = try CLInfo.deviceString(id, CL_DRIVER_VERSION, "CL_DRIVER_VERSION")
        deviceVersion = try CLInfo.deviceString(id, CL_DEVICE_VERSION, "CL_DEVICE_VERSION")
        let type = try CLInfo.deviceValue(id, CL_DEVICE_TYPE, "CL_DEVICE_TYPE", as: cl_device_type.self)
        isGPU = type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0
        isCPU = type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0
        computeUnits = Int(try CLInfo.deviceValue(id, CL_DEVICE_MAX_COMPUTE_UNITS, "CL_DEVICE_MAX_COMPUTE_UNITS", as: cl_uint.self))
        maxWorkGroupSize = try CLInfo.deviceValue(id, CL_DEVICE_MAX_WORK_GROUP_SIZE, "CL_DEVICE_MAX_WORK_GROUP_SIZE", as: Int.self)
        maxWorkItemSizes = try CLInfo.deviceSizes(id, CL_DEVICE_MAX_WORK_ITEM_SIZES, "CL_DEVICE_MAX_WORK_ITEM_SIZES")
        localMemBytes = Int(try CLInfo.deviceValue(id, CL_DEVICE_LOCAL_MEM_SIZE, "CL_DEVICE_LOCAL_MEM_SIZE", as: cl_ulong.self))
        globalMemBytes = try CLInfo.deviceValue(id, CL_DEVICE_GLOBAL_MEM_SIZE, "CL_DEVICE_GLOBAL_MEM_SIZE", as: cl_ulong.self)
        maxAllocBytes = try CLInfo.deviceValue(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, "CL_DEVICE_MAX_MEM_ALLOC_SIZE", as: cl_ulong.self)
        let ext = try CLInfo.deviceString(id, CL_DEVICE_EXTENSIONS, "CL_DEVICE_EXTENSIONS")
        extensions = Set(ext.split(separator: " ").map(String.init))
    }

    /// The largest work-group size usable in dimension 0 and in total.
    func clampWorkGroup(_ n: Int) -> Int { min(n, maxWorkGroupSize, maxWorkItemSizes.first ?? n) }

    func info(index: Int, float16: Bool) -> DeviceInfo {
        DeviceInfo(backend: "opencl", index: index, name: name, vendor: vendor,
                   driver: "\(platformName) \(driverVersion) (\(deviceVersion))",
                   memoryBytes: globalMemBytes, storageType: float16 ? .float16 : .float32,
                   supportsFloat16: hasFloat16, supportsCooperativeMatrix: false,
                   subgroupSize: nil, computeUnits: computeUnits,
                   details: [
                       "platform": platformName,
                       "type": isGPU ? "GPU" : (isCPU ? "CPU" : "other"),
                       "max_work_group_size": String(maxWorkGroupSize),
                       "max_work_item_sizes": maxWorkItemSizes.map(String.init).joined(separator: "x"),
                       "local_mem_bytes": String(localMemBytes),
                       "max_alloc_bytes": String(maxAllocBytes),
                       "cl_khr_fp16": hasFloat16 ? "yes" : "no",
                   ])
    }
}

/// Why no device could be opened (mapped to `BackendError.noDevice`).
enum BackendErrorReason: Error {
    case noPlatform
    case noDevices

    var text: String {
        switch self {
        case .noPlatform:
            return "no OpenCL platform found (is an ICD such as pocl-opencl-icd or a GPU driver installed? see /etc/OpenCL/vendors)"
        case .noDevices:
            return "OpenCL platforms are installed but none reports a device"
        }
    }
}
