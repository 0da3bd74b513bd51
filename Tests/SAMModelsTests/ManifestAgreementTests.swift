import XCTest
@testable import SAMModels
import TensorRuntime

/// Two descriptions of each model's weights exist for different jobs: the registry's table of
/// what a published checkpoint holds, in file order (recognition, `medsam info`), and the
/// manifest the graph builders declare (verified loading). They must never drift apart.
final class ManifestAgreementTests: XCTestCase {
    func testRegistryTableAndGraphManifestAgreeForEveryModel() {
        for kind in ModelKind.allCases {
            let config = kind.config
            let table = ExpectedCheckpointKeys.shapes(for: kind).filter { !config.isIgnoredCheckpointKey($0.key) }
            let manifest = SAMModel.manifest(config)
            let tableByKey = Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.shape) })
            let manifestByKey = Dictionary(uniqueKeysWithValues: manifest.map { ($0.key, $0.shape) })
            XCTAssertEqual(Set(tableByKey.keys).subtracting(manifestByKey.keys).sorted(), [],
                           "\(kind.rawValue): in the checkpoint table but never read by the graphs")
            XCTAssertEqual(Set(manifestByKey.keys).subtracting(tableByKey.keys).sorted(), [],
                           "\(kind.rawValue): read by the graphs but not in the checkpoint table")
            for (key, shape) in manifestByKey where tableByKey[key] != nil {
                XCTAssertEqual(tableByKey[key], shape, "\(kind.rawValue): \(key)")
            }
        }
    }
}
