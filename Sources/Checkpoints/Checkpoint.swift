import ArchiveIO

/// Opens checkpoint files of any supported format.
public enum Checkpoint {
    /// Opens `path` as a PyTorch `.pth` (zip) or a `.safetensors` file, decided by the file's
    /// first bytes rather than its name.
    public static func open(path: String) throws -> CheckpointSource {
        try open(file: MappedFile(path: path))
    }

    /// ``open(path:)`` on bytes already in memory, presented as the file `path` (the fuzz
    /// targets in Fuzz/ use this).
    public static func open(bytes: [UInt8], path: String) throws -> CheckpointSource {
        try open(file: MappedFile(copying: bytes, path: path))
    }

    static func open(file: MappedFile) throws -> CheckpointSource {
        let path = file.path
        let bytes = file.bytes
        if bytes.count < 8 {
            throw CheckpointError(path: path, problem: .truncated("only \(bytes.count) bytes"))
        }
        // A zip (torch >= 1.6) starts with a local header; pickle protocol 2 (legacy torch.save)
        // starts with 0x80 0x02: PyTorchCheckpoint explains that one.
        if ZipArchive.looksLikeZip(bytes) || (bytes[0] == 0x80 && bytes[1] == 0x02) {
            return try PyTorchCheckpoint(file: file)
        }
        // safetensors: 8-byte length, then a JSON object.
        if bytes.count > 8, bytes[8] == UInt8(ascii: "{") {
            return try SafetensorsCheckpoint(file: file)
        }
        // A damaged zip whose first record was overwritten still has a directory at the end.
        if (try? ZipArchive(path: path, bytes: bytes)) != nil {
            return try PyTorchCheckpoint(file: file)
        }
        throw CheckpointError(path: path, problem: .unknownFormat(
            "neither a PyTorch zip checkpoint (.pth) nor a .safetensors file"))
    }
}
