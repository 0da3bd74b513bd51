extension ReferenceBackend {
    /// The reference backend's entry in a `BackendRegistry`: one device (the host), never
    /// chosen by `auto` because it is written to be obviously right, not fast.
    public static let registration = BackendRegistration(
        name: "reference",
        summary: "plain loops on the host with float64 sums; the judge of every other backend (slow)",
        autoPreference: nil,
        devices: { [ReferenceBackend().info] },
        isHardware: { _ in true },
        hasFloat16Storage: { _ in false },
        make: { request in
            guard request.deviceIndex == 0 else {
                throw BackendError.invalidArgument("reference: device \(request.deviceIndex) does not exist (1 found)")
            }
            return ReferenceBackend()
        })
}
