import TensorRuntime
import Testing

/// What a registration promises: its devices carry its name and their own index, `make` opens
/// them, and a device that does not exist is a typed error rather than a crash.
extension BackendConformance {
    @Test("the registration lists its devices and opens them", arguments: ConformanceBackend.all)
    func registrationDescribesItsDevices(_ subject: ConformanceBackend) throws {
        let devices = try subject.devices()
        for (i, d) in devices.enumerated() {
            #expect(d.backend == subject.name)
            #expect(d.index == i)
            #expect(!d.name.isEmpty)
        }
        let backend = try subject.open()
        #expect(backend.info.backend == subject.name)
        #expect(backend.info.index == devices[0].index)
        #expect(backend.info.name == devices[0].name)

        let error = #expect(throws: BackendError.self) {
            _ = try subject.registration.make(BackendRequest(name: subject.name, deviceIndex: devices.count))
        }
        if case .invalidArgument(let message)? = error {
            #expect(message.contains("\(devices.count)"), "the error names the index: \(message)")
        } else if let error {
            Issue.record("\(subject.name): expected invalidArgument for device \(devices.count), got \(error)")
        }
    }
}
