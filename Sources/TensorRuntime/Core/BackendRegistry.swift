import Foundation

/// What a caller asks a `BackendRegistry` to build: a backend by name, one of its devices, options.
///
/// Backend names are plain strings checked against the registry, so a program names only the
/// backends it links; `BackendRequest.auto` lets the registry choose.
public struct BackendRequest: Sendable, Equatable {
    /// The name that asks the registry to choose (`BackendRegistry.resolve(_:)`).
    public static let auto = "auto"

    /// `auto` or the name of a registered backend (`reference`, `cpu`, `opencl`, `vulkan`, ...).
    public var name: String
    /// Index among the devices the backend enumerates (`BackendRegistration.devices()`);
    /// ignored with `auto`, which picks the device itself.
    public var deviceIndex: Int
    /// Store tensors as float16 where the backend has that path (GPU backends); the others ignore it.
    public var float16: Bool
    /// Worker threads for host backends that use them (`cpu`); nil lets the backend decide.
    public var threads: Int?

    public init(name: String = BackendRequest.auto, deviceIndex: Int = 0, float16: Bool = false, threads: Int? = nil) {
        self.name = name
        self.deviceIndex = deviceIndex
        self.float16 = float16
        self.threads = threads
    }
}

/// One backend kind as a registry knows it: its name, what it is, its devices and how to build it.
///
/// Each backend module defines its own (e.g. `CPUBackend.registration`, next to the backend's
/// code); a program registers the ones it links in a `BackendRegistry`, and everything that
/// lists, chooses or builds backends asks the registry.
public struct BackendRegistration: Sendable {
    /// The `--backend` value: lowercase letters, digits and `-`, never `auto` or `all`.
    public let name: String
    /// One line saying what the backend is, for `medsam devices` and help text.
    public let summary: String
    /// Rank among the backends `auto` may choose, lower first; nil when `auto` never chooses
    /// this backend (the reference backend, which is for judging, not for work).
    public let autoPreference: Int?

    private let enumerateDevices: @Sendable () throws -> [DeviceInfo]
    private let deviceIsHardware: @Sendable (DeviceInfo) -> Bool
    private let deviceHasFloat16Storage: @Sendable (DeviceInfo) -> Bool
    private let build: @Sendable (BackendRequest) throws -> any Backend

    /// - Parameters:
    ///   - devices: every device of this kind on this machine; throws `BackendError.noDevice`
    ///     (with the reason) when there is none.
    ///   - isHardware: whether a device runs the kernels natively. `auto` skips devices for which
    ///     this is false: software GPUs (lavapipe, llvmpipe, PoCL's CPU device) are slower than
    ///     the `cpu` backend and exist for testing.
    ///   - hasFloat16Storage: whether `make` with `float16: true` gives a backend that stores
    ///     tensors as float16 on this device.
    ///   - make: opens `request.deviceIndex` with the request's options (`request.name` is this
    ///     registration's name). A bad device index is a `BackendError.invalidArgument`.
    public init(name: String, summary: String, autoPreference: Int?,
                devices: @escaping @Sendable () throws -> [DeviceInfo],
                isHardware: @escaping @Sendable (DeviceInfo) -> Bool,
                hasFloat16Storage: @escaping @Sendable (DeviceInfo) -> Bool,
                make: @escaping @Sendable (BackendRequest) throws -> any Backend) {
        self.name = name
        self.summary = summary
        self.autoPreference = autoPreference
        self.enumerateDevices = devices
        self.deviceIsHardware = isHardware
        self.deviceHasFloat16Storage = hasFloat16Storage
        self.build = make
    }

    /// Every device of this kind; throws `BackendError.noDevice` when there is none.
    public func devices() throws -> [DeviceInfo] { try enumerateDevices() }

    /// Whether `device` runs the kernels natively (see `init`); `auto` picks only these.
    public func isHardware(_ device: DeviceInfo) -> Bool { deviceIsHardware(device) }

    /// Whether this backend can store tensors as float16 on `device`.
    public func hasFloat16Storage(_ device: DeviceInfo) -> Bool { deviceHasFloat16Storage(device) }

    /// Opens the requested device of this backend (the request's name is replaced by this one's).
    public func make(_ request: BackendRequest) throws -> any Backend {
        var r = request
        r.name = name
        return try build(r)
    }

    /// Whether a GPU backend's device is a real GPU: a `type`/`deviceType` detail saying GPU
    /// and a name that is not one of the software implementations (lavapipe, llvmpipe,
    /// SwiftShader, PoCL's pthread CPU device). The GPU backends share this test.
    public static func isHardwareGPU(_ device: DeviceInfo) -> Bool {
        let type = (device.details["type"] ?? device.details["deviceType"] ?? "").lowercased()
        if type.contains("cpu") { return false }
        let name = device.name.lowercased()
        for software in ["llvmpipe", "lavapipe", "pthread", "pocl", "swiftshader", "cpu"] where name.contains(software) {
            return false
        }
        return type.contains("gpu")
    }
}

/// A registry failure: a name that is not registered, or a registration that breaks the rules.
public enum BackendRegistryError: Error, CustomStringConvertible, Equatable {
    /// `name` is not registered; `registered` lists what is.
    case unknownBackend(name: String, registered: [String])
    /// A second registration under a name already taken.
    case duplicateName(String)
    /// A registration name that is empty, reserved (`auto`, `all`) or not lowercase `[a-z0-9-]`.
    case invalidName(String)
    /// `auto` found no registered backend with a hardware device (each candidate's reason listed).
    case noAutoChoice(reasons: [String])

    public var description: String {
        switch self {
        case .unknownBackend(let name, let registered):
            let list = registered.isEmpty ? "none are registered" : "registered: \(registered.joined(separator: ", ")), or auto"
            return "unknown backend '\(name)' (\(list))"
        case .duplicateName(let name):
            return "a backend named '\(name)' is registered already"
        case .invalidName(let name):
            return "'\(name)' cannot name a backend: use lowercase letters, digits and '-', not 'auto' or 'all'"
        case .noAutoChoice(let reasons):
            return "auto found no backend with a hardware device"
                + (reasons.isEmpty ? " (no backend is registered for auto)" : " (\(reasons.joined(separator: "; ")))")
        }
    }
}

/// One entry of a device listing: a backend kind and its devices, or why it has none.
public struct DeviceListing: Sendable, Codable, Equatable {
    public var backend: String
    public var summary: String
    public var devices: [DeviceInfo]
    /// Why the backend has no device (the `BackendError.noDevice` reason); nil when it has some.
    public var error: String?
}

/// The backends a program links, by name: the one place that lists, chooses and builds them.
///
/// A program registers each backend once at startup (`register(_:)`), in the order listings
/// should show them; afterwards reads and `make` are safe from any thread. Most programs use
/// `shared`; tests may build their own registry.
public final class BackendRegistry: @unchecked Sendable {
    /// The process-wide registry the `medsam` executable fills at startup.
    public static let shared = BackendRegistry()

    private let lock = NSLock()
    private var entries: [BackendRegistration] = []

    /// An empty registry.
    public init() {}

    /// A registry holding `registrations`, in order (same rules as `register(_:)`).
    public convenience init(_ registrations: [BackendRegistration]) throws {
        self.init()
        for r in registrations { try register(r) }
    }

    /// Adds a backend. Names are unique; `auto` and `all` are reserved for choosing and listing.
    public func register(_ registration: BackendRegistration) throws {
        let name = registration.name
        guard !name.isEmpty, name != BackendRequest.auto, name != "all",
              name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
            throw BackendRegistryError.invalidName(name)
        }
        try lock.withLock {
            guard !entries.contains(where: { $0.name == name }) else { throw BackendRegistryError.duplicateName(name) }
            entries.append(registration)
        }
    }

    /// Every registration, in registration order.
    public var registrations: [BackendRegistration] { lock.withLock { entries } }

    /// Every registered name, in registration order.
    public var names: [String] { registrations.map(\.name) }

    /// The registration called `name`; an unknown name is an error listing the registered ones.
    public func registration(named name: String) throws -> BackendRegistration {
        let all = registrations
        guard let r = all.first(where: { $0.name == name }) else {
            throw BackendRegistryError.unknownBackend(name: name, registered: all.map(\.name))
        }
        return r
    }

    /// Checks that `name` is `auto` or registered, without touching any device.
    public func validate(name: String) throws {
        if name != BackendRequest.auto { _ = try registration(named: name) }
    }

    /// The backends `auto` considers, in the order it considers them: those with an
    /// `autoPreference`, lowest rank first, ties in registration order.
    public var autoCandidates: [BackendRegistration] {
        registrations.enumerated()
            .compactMap { i, r in r.autoPreference.map { (rank: $0, order: i, registration: r) } }
            .sorted { ($0.rank, $0.order) < ($1.rank, $1.order) }
            .map(\.registration)
    }

    /// The request with `auto` replaced by a concrete backend and device: the first hardware
    /// device of the `autoCandidates`, in their order (backends whose devices cannot be listed
    /// are passed over; the error lists why each candidate was). A request naming a backend is
    /// returned unchanged once the name is checked.
    public func resolve(_ request: BackendRequest) throws -> BackendRequest {
        guard request.name == BackendRequest.auto else {
            try validate(name: request.name)
            return request
        }
        var reasons: [String] = []
        for r in autoCandidates {
            do {
                let devices = try r.devices()
                if let d = devices.first(where: r.isHardware) {
                    var chosen = request
                    chosen.name = r.name
                    chosen.deviceIndex = d.index
                    return chosen
                }
                reasons.append("\(r.name): only software devices (\(devices.map(\.name).joined(separator: ", ")))")
            } catch {
                reasons.append("\(r.name): \(error)")
            }
        }
        throw BackendRegistryError.noAutoChoice(reasons: reasons)
    }

    /// Builds the backend the request names (or `auto` chooses).
    public func make(_ request: BackendRequest) throws -> any Backend {
        let resolved = try resolve(request)
        return try registration(named: resolved.name).make(resolved)
    }

    /// Every registered backend with its devices, in registration order; a backend without
    /// devices carries the reason.
    public func listDevices() -> [DeviceListing] {
        registrations.map { r in
            do {
                return DeviceListing(backend: r.name, summary: r.summary, devices: try r.devices(), error: nil)
            } catch {
                return DeviceListing(backend: r.name, summary: r.summary, devices: [], error: "\(error)")
            }
        }
    }
}
