import XCTest
@testable import MedicalImaging

/// The comparison `scripts/tests/check_dicom_info.py` makes through the CLI, made here through
/// the library: `Fixtures/pydicom_info.json` holds pydicom's shape, spacing and min/max for every
/// supported test file of the pydicom package, and the transfer syntax of every refused one
/// (regenerate with `check_dicom_info.py --expected-json`). Files are taken from the installed
/// pydicom when its folder exists (or `PYDICOM_TEST_FILES` names one), else from the fixture copies.
final class PydicomInfoTests: XCTestCase {
    private func locate(_ name: String, _ folder: String) -> URL? {
        var folders = [folder]
        if let env = ProcessInfo.processInfo.environment["PYDICOM_TEST_FILES"] { folders.insert(env, at: 0) }
        for f in folders {
            let url = URL(fileURLWithPath: f).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        let fixture = Fixtures.url("dicom/\(name)")
        return FileManager.default.fileExists(atPath: fixture.path) ? fixture : nil
    }

    func testInfoMatchesPydicom() throws {
        let data = try Data(contentsOf: Fixtures.url("pydicom_info.json"))
        let table = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let folder = table["test_files"] as! String
        let supported = table["supported"] as! [String: [String: Any]]
        let refused = table["refused"] as! [String: String]
        var compared = 0, refusals = 0
        for (name, want) in supported.sorted(by: { $0.key < $1.key }) {
            guard let url = locate(name, folder) else { continue }
            let info = try MedicalImageInfo.read(url)
            XCTAssertEqual(info.shape, doubles(want["shape"]).map(Int.init), name)
            for (a, b) in zip(info.spacing, doubles(want["spacing"])) { assertClose(a, b, rtol: 1e-9, name) }
            // Lossy DCT JPEG: one grey level of inverse-DCT rounding (`atol`, check_dicom_info.py).
            let atol = (want["atol"] as? NSNumber)?.doubleValue ?? 1e-5
            assertClose(info.min, (want["min"] as! NSNumber).doubleValue, rtol: 1e-6, atol: atol, "\(name) min")
            assertClose(info.max, (want["max"] as! NSNumber).doubleValue, rtol: 1e-6, atol: atol, "\(name) max")
            compared += 1
        }
        for (name, uid) in refused.sorted(by: { $0.key < $1.key }) {
            guard let url = locate(name, folder) else { continue }
            assertImagingError(.unsupported, [name, uid]) { try MedicalImageInfo.read(url) }
            refusals += 1
        }
        // The fixture copies alone cover 8 supported files.
        XCTAssertGreaterThanOrEqual(compared, 8)
        print("pydicom comparison: \(compared) files compared, \(refusals) refusals checked")
    }
}
