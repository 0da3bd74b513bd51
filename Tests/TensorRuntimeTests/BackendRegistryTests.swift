import Foundation
import XCTest
@testable import TensorRuntime

/// The registry's rules with stand-in registrations (each builds a ReferenceBackend and records
/// the request it got), so no device is needed.
final class BackendRegistryTests: XCTestCase {
    /// Requests the stand-ins were asked to build, in order.
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var requests: [BackendRequest] = []
        func append(_ r: BackendRequest) { lock.withLock { requests.append(r) } }
        var all: [BackendRequest] { lock.withLock { requests } }
    }

    /// A stand-in backend kind with the given devices (nil: no device, with a reason).
    func fake(_ name: String, autoPreference: Int?, devices: [(name: String, type: String)]?, log: Log) -> BackendRegistration {
        BackendRegistration(
            name: name, summary: "stand-in \(name)", autoPreference: autoPreference,
            devices: {
                guard let devices else { throw BackendError.noDevice(backend: name, reason: "no \(name) driver") }
                return devices.enumerated().map { DeviceInfo(backend: name, index: $0, name: $1.name, details: ["type": $1.type]) }
            },
            isHardware: { BackendRegistration.isHardwareGPU($0) },
            hasFloat16Storage: { _ in false },
            make: { request in
                log.append(request)
                return ReferenceBackend()
            })
    }

    func testUnknownNameListsTheRegisteredOnes() throws {
        let log = Log()
        let registry = try BackendRegistry([fake("alpha", autoPreference: nil, devices: [], log: log),
                                            fake("beta", autoPreference: nil, devices: [], log: log)])
        XCTAssertEqual(registry.names, ["alpha", "beta"])
        XCTAssertThrowsError(try registry.make(BackendRequest(name: "gamma"))) { error in
            XCTAssertEqual(error as? BackendRegistryError, .unknownBackend(name: "gamma", registered: ["alpha", "beta"]))
            XCTAssertEqual("\(error)", "unknown backend 'gamma' (registered: alpha, beta, or auto)")
        }
        XCTAssertNoThrow(try registry.validate(name: "auto"))
        XCTAssertNoThrow(try registry.validate(name: "beta"))
        XCTAssertTrue(log.all.isEmpty, "validation must not build anything")
    }

    func testNamesAreUniqueAndWellFormed() throws {
        let log = Log()
        let registry = BackendRegistry()
        try registry.register(fake("gpu-2", autoPreference: nil, devices: [], log: log))
        XCTAssertThrowsError(try registry.register(fake("gpu-2", autoPreference: 1, devices: [], log: log))) {
            XCTAssertEqual($0 as? BackendRegistryError, .duplicateName("gpu-2"))
        }
        for bad in ["", "auto", "all", "Vulkan", "my backend", "cpu_2"] {
            XCTAssertThrowsError(try registry.register(fake(bad, autoPreference: nil, devices: [], log: log)), bad) {
                XCTAssertEqual($0 as? BackendRegistryError, .invalidName(bad))
            }
        }
        XCTAssertEqual(registry.names, ["gpu-2"])
    }

    func testMakePassesTheRequestThrough() throws {
        let log = Log()
        let registry = try BackendRegistry([fake("alpha", autoPreference: nil, devices: [("a0", "GPU"), ("a1", "GPU")], log: log)])
        let backend = try registry.make(BackendRequest(name: "alpha", deviceIndex: 1, float16: true, threads: 3))
        XCTAssertTrue(backend is ReferenceBackend)
        XCTAssertEqual(log.all, [BackendRequest(name: "alpha", deviceIndex: 1, float16: true, threads: 3)])
    }

    /// `auto` takes the first hardware device in preference order, passing over software GPUs,
    /// backends without devices and backends with no preference.
    func testAutoPicksTheFirstHardwareDeviceByPreference() throws {
        let log = Log()
        let registry = try BackendRegistry([
            fake("judge", autoPreference: nil, devices: [("plain loops", "GPU")], log: log),
            fake("host", autoPreference: 100, devices: [("host cores", "GPU")], log: log),
            fake("soft", autoPreference: 5, devices: [("llvmpipe (LLVM 17)", "CPU"), ("Portable pthread device", "GPU")], log: log),
            fake("absent", autoPreference: 1, devices: nil, log: log),
            fake("gpu", autoPreference: 10, devices: [("lavapipe", "CPU"), ("Some Discrete GPU", "discrete GPU")], log: log),
        ])
        XCTAssertEqual(registry.autoCandidates.map(\.name), ["absent", "soft", "gpu", "host"])
        let chosen = try registry.resolve(BackendRequest(deviceIndex: 7, float16: true))
        XCTAssertEqual(chosen, BackendRequest(name: "gpu", deviceIndex: 1, float16: true))
        _ = try registry.make(BackendRequest())
        XCTAssertEqual(log.all.map(\.name), ["gpu"])
    }

    func testAutoWithoutHardwareNamesEveryCandidate() throws {
        let log = Log()
        let registry = try BackendRegistry([
            fake("judge", autoPreference: nil, devices: [("plain loops", "GPU")], log: log),
            fake("soft", autoPreference: 5, devices: [("llvmpipe", "CPU")], log: log),
            fake("absent", autoPreference: 1, devices: nil, log: log),
        ])
        XCTAssertThrowsError(try registry.make(BackendRequest())) { error in
            guard case BackendRegistryError.noAutoChoice(let reasons) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(reasons.count, 2)
            XCTAssertTrue(reasons[0].hasPrefix("absent: no absent device: no absent driver"), reasons[0])
            XCTAssertTrue(reasons[1].contains("soft: only software devices (llvmpipe)"), reasons[1])
        }
        XCTAssertTrue(log.all.isEmpty)
    }

    func testDeviceListingCarriesTheReasonForNoDevice() throws {
        let log = Log()
        let registry = try BackendRegistry([fake("alpha", autoPreference: nil, devices: [("a0", "GPU")], log: log),
                                            fake("absent", autoPreference: nil, devices: nil, log: log)])
        let listing = registry.listDevices()
        XCTAssertEqual(listing.map(\.backend), ["alpha", "absent"])
        XCTAssertEqual(listing[0].devices.map(\.name), ["a0"])
        XCTAssertNil(listing[0].error)
        XCTAssertEqual(listing[0].summary, "stand-in alpha")
        XCTAssertEqual(listing[1].devices, [])
        XCTAssertEqual(listing[1].error, "no absent device: no absent driver")
    }

    /// Registration from many threads at once: every name lands exactly once.
    func testConcurrentRegistrationKeepsEveryName() throws {
        let log = Log()
        let registry = BackendRegistry()
        let failures = Log()
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            // Each name is registered twice; exactly one of the two must win.
            do { try registry.register(fake("b\(i / 2)", autoPreference: i, devices: [], log: log)) } catch {
                failures.append(BackendRequest(name: "b\(i / 2)"))
            }
            _ = registry.names
        }
        XCTAssertEqual(Set(registry.names), Set((0..<32).map { "b\($0)" }))
        XCTAssertEqual(registry.names.count, 32)
        XCTAssertEqual(failures.all.count, 32)
    }

    func testHardwareGPUTestRejectsSoftwareImplementations() {
        func d(_ name: String, _ type: String) -> DeviceInfo { DeviceInfo(backend: "x", name: name, details: ["type": type]) }
        XCTAssertTrue(BackendRegistration.isHardwareGPU(d("NVIDIA H200", "discrete GPU")))
        XCTAssertTrue(BackendRegistration.isHardwareGPU(d("Intel(R) Arc", "GPU")))
        XCTAssertFalse(BackendRegistration.isHardwareGPU(d("llvmpipe (LLVM 19.1.7, 256 bits)", "CPU")))
        XCTAssertFalse(BackendRegistration.isHardwareGPU(d("cpu-haswell-AMD EPYC", "CPU")))
        XCTAssertFalse(BackendRegistration.isHardwareGPU(d("SwiftShader Device", "GPU")))
        XCTAssertFalse(BackendRegistration.isHardwareGPU(d("Some accelerator", "other")))
    }
}
