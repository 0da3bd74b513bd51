import CPUBackend
import OpenCLBackend
import TensorRuntime
import VulkanBackend

/// The backends this executable links, one line each, in the order `medsam devices` and
/// `medsam parity --backend all` show them. Every `--backend` value, `auto`'s choice and the
/// help text come from the registry these fill, and the conformance suite
/// (Tests/BackendConformanceTests) runs on exactly these (docs/adding-a-backend.md).
public enum LinkedBackends {
    public static let registrations: [BackendRegistration] = [
        ReferenceBackend.registration,
        CPUBackend.registration,
        OpenCLBackend.registration,
        VulkanBackend.registration,
    ]

    /// Fills `BackendRegistry.shared`; `MedSAM.main` calls it once, before parsing arguments.
    static func register() throws {
        for r in registrations { try BackendRegistry.shared.register(r) }
    }
}
