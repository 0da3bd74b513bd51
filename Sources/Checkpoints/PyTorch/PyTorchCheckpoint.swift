import ArchiveIO
import TensorRuntime

/// A PyTorch `torch.save` checkpoint (the zip format of torch >= 1.6), memory-mapped.
///
/// Opening reads the zip directory and interprets `…/data.pkl` (see `PickleMachine`) to learn
/// every tensor's storage, offset, shape and strides, and checks each lies inside its storage
/// record. No tensor data is touched until `load(_:)`, which converts one tensor to float32.
public final class PyTorchCheckpoint: CheckpointSource {
    public let path: String
    public let keys: [String]
    public let shapes: [String: Shape]
    public let storedDTypes: [String: StorageDType]
    /// The folder name shared by the archive's records (e.g. `archive` or the file's stem).
    public let archivePrefix: String
    /// When true (the default), pages of the map a loaded tensor occupied are dropped from the
    /// resident set after conversion, so streaming every tensor keeps memory near one tensor.
    public var releasesPagesAfterLoad = true

    private let file: MappedFile
    private let zip: ZipArchive
    private let views: [String: TensorView]
    private let storageRecords: [String: ZipRecord]

    /// The first bytes of a pre-1.6 torch.save file: PROTO 2 then LONG1 of the magic number
    /// 0x1950a86a20f9469cfc6c.
    private static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        self.file = file
        let bytes = file.bytes
        if bytes.count >= Self.legacyMagic.count, Array(bytes[0..<Self.legacyMagic.count]) == Self.legacyMagic {
            throw CheckpointError(path: path, problem: .unknownFormat(
                "this is the pre-1.6 (non-zip) torch.save format, which is not supported; re-save it with a recent torch: torch.save(torch.load(f), f)"))
        }
        let archive = try readingZip { try ZipArchive(path: path, bytes: bytes) }
        zip = archive
        guard let pickleRecord = archive.records.first(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) else {
            throw CheckpointError(path: path, problem: .missingRecord("…/data.pkl (is this a torch.save file?)"))
        }
        let prefix = String(pickleRecord.name.dropLast("data.pkl".count))
        archivePrefix = prefix
        if let order = archive.record(named: prefix + "byteorder") {
            let text = try readingZip { try archive.contents(of: order) }.withBytes { String(decoding: $0, as: UTF8.self) }
            guard text.hasPrefix("little") else {
                throw CheckpointError(path: path, problem: .unsupportedDType("storages are '\(text)'-endian; only little-endian is supported"))
            }
        }
        let pickleBytes = try readingZip { try archive.contents(of: pickleRecord) }
        let entries = try pickleBytes.withBytes { data -> [(String, TensorView)] in
            var machine = PickleMachine(path: path, data: data)
            let root = try machine.run()
            return try machine.stateDict(in: root)
        }

        var keys: [String] = [], shapes: [String: Shape] = [:], dtypes: [String: StorageDType] = [:]
        var views: [String: TensorView] = [:], records: [String: ZipRecord] = [:]
        for (key, view) in entries {
            let recordName = prefix + "data/" + view.storageKey
            guard let record = archive.record(named: recordName) else {
                throw CheckpointError(path: path, problem: .missingRecord("\(recordName) (storage of '\(key)')"))
            }
            let needed = (view.extent ?? 0) * view.dtype.size
            guard needed <= record.uncompressedSize else {
                throw CheckpointError(path: path, problem: .storageTooShort(
                    tensor: key, neededBytes: needed, availableBytes: record.uncompressedSize))
            }
            if views[key] == nil { keys.append(key) }
            views[key] = view
            shapes[key] = Shape(view.shape)
            dtypes[key] = view.dtype
            records[view.storageKey] = record
        }
        self.keys = keys
        self.shapes = shapes
        self.storedDTypes = dtypes
        self.views = views
        self.storageRecords = records
    }

    public func load(_ key: String) throws -> Tensor {
        guard let view = views[key], let record = storageRecords[view.storageKey] else {
            throw CheckpointError(path: path, problem: .unknownKey(key))
        }
        var mappedRange: Range<Int>?
        if record.method == 0, let extent = view.extent {
            let dataOffset = try readingZip { try zip.dataOffset(of: record) }
            let range = (dataOffset + view.storageOffset * view.dtype.size)..<(dataOffset + extent * view.dtype.size)
            // The common case, a contiguous float32 tensor, is one plain read into its array.
            if view.dtype == .float32 && view.isContiguous {
                let count = Shape(view.shape).count
                return Tensor(shape: Shape(view.shape),
                              data: try TensorConversion.float32(reading: file, at: range.lowerBound, count: count))
            }
            // Otherwise convert from the map; start reading the whole tensor at once rather
            // than page fault by page fault.
            file.willNeed(range)
            mappedRange = range
        }
        let storage = try readingZip { try zip.contents(of: record) }
        let values = storage.withBytes { TensorConversion.float32(from: $0, view: view) }
        if releasesPagesAfterLoad, let mappedRange { file.release(mappedRange) }
        return Tensor(shape: Shape(view.shape), data: values)
    }
}
