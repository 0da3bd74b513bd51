import COpenCL

/// Typed readers for `clGetPlatformInfo` / `clGetDeviceInfo`.
enum CLInfo {
    static func platformString(_ p: cl_platform_id, _ param: Int32, _ what: String) throws -> String {
        var size = 0
        try clCheck(clGetPlatformInfo(p, cl_platform_info(param), 0, nil, &size), "clGetPlatformInfo(\(what))")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try clCheck(clGetPlatformInfo(p, cl_platform_info(param), size, &bytes, nil), "clGetPlatformInfo(\(what))")
        return String(cString: bytes).trimmingCharacters(in: " ")
    }

    static func deviceString(_ d: cl_device_id, _ param: Int32, _ what: String) throws -> String {
        var size = 0
        try clCheck(clGetDeviceInfo(d, cl_device_info(param), 0, nil, &size), "clGetDeviceInfo(\(what))")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try clCheck(clGetDeviceInfo(d, cl_device_info(param), size, &bytes, nil), "clGetDeviceInfo(\(what))")
        return String(cString: bytes).trimmingCharacters(in: " ")
    }

    static func deviceValue<T: FixedWidthInteger>(_ d: cl_device_id, _ param: Int32, _ what: String, as: T.Type) throws -> T {
        var value: T = 0
        try clCheck(clGetDeviceInfo(d, cl_device_info(param), MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo(\(what))")
        return value
    }

    static func deviceSizes(_ d: cl_device_id, _ param: Int32, _ what: String) throws -> [Int] {
        var size = 0
        try clCheck(clGetDeviceInfo(d, cl_device_info(param), 0, nil, &size), "clGetDeviceInfo(\(what))")
        var values = [Int](repeating: 0, count: size / MemoryLayout<Int>.size)
        try clCheck(clGetDeviceInfo(d, cl_device_info(param), size, &values, nil), "clGetDeviceInfo(\(what))")
        return values
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
