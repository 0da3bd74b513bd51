import Foundation
import MedSAMCLI
import TensorRuntime
import Testing

/// Every backend passes the same checks: op parity, LiteMedSAM against the reference,
/// typed allocation errors, an honest registration. The cases live in extensions of this suite,
/// one file per theme; a new case for every backend is one function:
///
///     extension BackendConformance {
///         @Test(arguments: ConformanceBackend.all)
///         func somethingHolds(_ subject: ConformanceBackend) throws {
///             let backend = try subject.open()
///             ...
///         }
///     }
///
/// The cases run one at a time: PoCL and lavapipe each spread over every core, and the
/// reference results shared by the cases are computed once.
@Suite(.serialized)
struct BackendConformance {}

/// One registered backend as a test argument.
struct ConformanceBackend: Sendable, CustomTestStringConvertible {
    let registration: BackendRegistration

    /// Every backend the `medsam` executable links (its one line per backend in
    /// Sources/MedSAMCLI/LinkedBackends.swift), so a new backend is tested by being linked.
    static let all: [ConformanceBackend] = LinkedBackends.registrations.map(ConformanceBackend.init)

    var name: String { registration.name }
    var testDescription: String { name }

    /// The reference backend judges every other backend; the suite judges it against PyTorch's
    /// recorded outputs instead of against itself.
    var isJudge: Bool { name == ReferenceBackend.registration.name }

    /// CI services set CI=true; there a backend without a device fails its cases, so CI cannot
    /// go green with lavapipe or PoCL gone.
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true" }

    /// Every device of the backend. None: the case is cancelled with the reason on a user's
    /// machine and fails under CI=true.
    func devices() throws -> [DeviceInfo] {
        let devices: [DeviceInfo]
        do {
            devices = try registration.devices()
        } catch BackendError.noDevice(_, let reason) {
            try missingDevice(reason)
        }
        guard !devices.isEmpty else { try missingDevice("the backend listed no device") }
        return devices
    }

    /// Device 0 of the backend, with float16 storage when asked (a device without that path
    /// cancels the case: there is nothing to test).
    func open(float16: Bool = false) throws -> any Backend {
        let device = try devices()[0]
        if float16 && !registration.hasFloat16Storage(device) {
            try Test.cancel("\(name) has no float16 storage path on \(device.name)")
        }
        return try registration.make(BackendRequest(name: name, deviceIndex: device.index, float16: float16))
    }

    private func missingDevice(_ reason: String) throws -> Never {
        if ConformanceBackend.isCI {
            throw ConformanceFailure("CI=true and the registered backend '\(name)' has no device (\(reason)); "
                                     + "CI must run every backend (install pocl-opencl-icd and mesa-vulkan-drivers)")
        }
        // Cancelled cases do not show in the default console output, so say why once per case.
        print("BackendConformance: skipping \(name), no device on this machine (\(reason)); CI=true makes this a failure")
        try Test.cancel("no \(name) device on this machine: \(reason)")
    }
}

/// A conformance failure that is not an expectation on a value (e.g. a device missing in CI).
struct ConformanceFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Records one issue per failing parity result, naming the case, and checks every case ran.
func expectAllPass(_ results: [ParityResult], count: Int, on backend: any Backend,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(results.count == count, "\(backend.info.backend): \(results.count) results for \(count) cases",
            sourceLocation: sourceLocation)
    for f in results where !f.pass {
        let what = "\(backend.info.backend) on \(backend.info.name): \(f.name) [\(f.op) \(f.shape)]"
        Issue.record("\(what) NMSE \(f.nmse) > \(f.threshold) \(f.failure ?? "")", sourceLocation: sourceLocation)
    }
}
