import Foundation
import Hummingbird
import MedicalImaging
import NIOCore

/// The part of MONAI Label's server protocol that its clients use for interactive models
/// (the `monailabel` package's `MONAILabelClient`, 3D Slicer's and OHIF's MONAI Label modules):
///
/// - `GET /info/`: two models of type `deepgrow`: `medsam` (dimension 2: the clicked slice) and
///   `medsam_3d` (dimension 3: the clicked slice, then propagated through the volume);
/// - `PUT /datastore/?image=ID`: multipart upload (`file`, `params`), answered `{"image": ID}`;
/// - `POST /infer/{model}?image=ID`: multipart `params` with `foreground` and `background`
///   voxel points `[i, j, k]`; answered as MONAI Label does, multipart with a `params` JSON
///   field and the label image as a file (uint8 NIfTI, gzip, on the input's grid).
///
/// Points are voxel indices of the volume as stored (i, j, k), as MONAI Label's clients send
/// them; the slice is axial, at the last foreground point's k (or `params.slice`).
struct MONAILabelRoutes<Context: RequestContext> {
    let service: SegmentationService
    let maxUploadBytes: Int

    static var models: [String: Int] { ["medsam": 2, "medsam_3d": 3] }

    func register(on router: Router<Context>) {
        router.get("/info/") { _, _ in
            var models: [String: InfoModel] = [:]
            for (name, dimension) in Self.models {
                models[name] = InfoModel(type: "deepgrow", labels: ["foreground": 1], dimension: dimension,
                                         description: dimension == 2
                                            ? "\(service.modelName): the clicked slice from foreground/background points"
                                            : "\(service.modelName): the clicked slice, propagated slice by slice through the volume",
                                         config: [:])
            }
            return APIResponse.json(Info(name: "medsam-swift", description: "medsam serve (MONAI Label subset)",
                                         version: "1", labels: ["foreground"], models: models,
                                         trainers: [:], strategies: [:], scoring: [:], train_stats: [:]))
        }
        router.put("/datastore/") { request, _ in
            let parts = try await parts(request, limit: maxUploadBytes)
            guard let file = parts.first(where: { $0.name == "file" }), let filename = file.filename else {
                throw ServiceError.badRequest("datastore upload: a 'file' part with a filename is required")
            }
            let id = request.uri.queryParameters.get("image").flatMap { $0.isEmpty ? nil : $0 }
                ?? Self.defaultID(filename)
            let info = try service.upload(file.data, name: filename, id: id)
            return APIResponse.json(["image": info.id])
        }
        router.post("/infer/:model") { request, context in
            let model = try context.parameters.require("model")
            guard let dimension = Self.models[model] else {
                throw ServiceError.notFound("model '\(model)' does not exist (expected \(Self.models.keys.sorted().joined(separator: " or ")))")
            }
            guard let id = request.uri.queryParameters.get("image"), !id.isEmpty else {
                throw ServiceError.badRequest("image: the query parameter 'image' (an id from /datastore/) is required")
            }
            let parts = try await parts(request, limit: 4 << 20)
            let params = try Self.params(parts)
            return try await infer(id: id, dimension: dimension, params: params)
        }
    }

    /// The name without its image extensions, as MONAI Label's datastore names images.
    static func defaultID(_ filename: String) -> String {
        var name = (filename as NSString).lastPathComponent
        for ext in [".nii.gz", ".nii", ".png", ".npy", ".dcm", ".zip"] where name.lowercased().hasSuffix(ext) {
            name = String(name.dropLast(ext.count))
            break
        }
        let cleaned = String(name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) ? Character($0) : "_" })
        return cleaned.isEmpty || cleaned.hasPrefix(".") ? UUID().uuidString.lowercased() : String(cleaned.prefix(128))
    }

    func parts(_ request: Request, limit: Int) async throws -> [Multipart.Part] {
        guard let type = request.headers[.contentType], let boundary = Multipart.boundary(contentType: type) else {
            throw ServiceError.unsupported("expected Content-Type multipart/form-data with a boundary")
        }
        let body = try await ServerRoutes<Context>.collect(request, limit: limit)
        return try Multipart.parse(body, boundary: boundary)
    }

    struct Params: Decodable {
        var foreground: [[Double]]?
        var background: [[Double]]?
        var slice: Int?
    }

    static func params(_ parts: [Multipart.Part]) throws -> Params {
        guard let field = parts.first(where: { $0.name == "params" }) else { return Params() }
        do { return try JSONDecoder().decode(Params.self, from: Data(field.data)) } catch let e as DecodingError {
            throw ServiceError.badRequest("params: \(APIResponse.describe(e))")
        }
    }

    func infer(id: String, dimension: Int, params: Params) async throws -> Response {
        let stored = try service.image(id)
        guard case .volume(let original, _) = stored.content else {
            throw ServiceError.badRequest("image \(id) is 2-D; the MONAI Label models take volumes")
        }
        let foreground = params.foreground ?? [], background = params.background ?? []
        for (name, points) in [("foreground", foreground), ("background", background)] {
            for (i, p) in points.enumerated() where p.count != 3 {
                throw ServiceError.badRequest("params.\(name)[\(i)]: has \(p.count) numbers; expected [i, j, k]")
            }
        }
        guard let slice = params.slice ?? foreground.last.map({ Int($0[2].rounded()) }) else {
            throw ServiceError.badRequest("params.foreground: at least one foreground point [i, j, k] is needed")
        }
        // The clicks on that slice; clicks on other slices belong to earlier interactions.
        let onSlice = { (p: [Double]) in Int(p[2].rounded()) == slice }
        let points = foreground.filter(onSlice).map { [Float($0[0]), Float($0[1])] } + background.filter(onSlice).map { [Float($0[0]), Float($0[1])] }
        let labels = Array(repeating: 1, count: foreground.filter(onSlice).count) + Array(repeating: 0, count: background.filter(onSlice).count)
        guard labels.contains(1) else {
            throw ServiceError.badRequest("params: no foreground point lies on slice \(slice)")
        }
        let answer = try await service.segment(id, SegmentRequest(axis: .axial, slice: slice, points: points, labels: labels))
        guard let best = answer.masks.first(where: { $0.best }), let rle = best.rle else {
            throw ServiceError(500, "the decoder returned no mask")
        }
        let mask = MaskEncoding.decode(rle)
        var labelsOut = [UInt8](repeating: 0, count: original.voxels.count)
        var stops: [String: String] = [:]
        if dimension == 2 || best.area == 0 {
            var volume = original.withVoxels(labelsOut.map(Float.init), sourceType: .uint8)
            try volume.setSlice(.axial, slice, from: Image(pixels: mask, height: answer.height, width: answer.width, channels: 1))
            labelsOut = volume.voxels.map { $0 > 0 ? 1 : 0 }
        } else {
            let box = Self.box(mask, width: answer.width, height: answer.height)
            let (result, _) = try await service.propagation(id, PropagateRequest(axis: .axial, slice: slice, box: box))
            labelsOut = result.mask
            stops = result.stops
        }
        let nifti = try service.niftiMask(labelsOut, like: original)
        let meta = InferParams(label_names: ["foreground": 1], model: dimension == 2 ? "medsam" : "medsam_3d", slice: slice,
                               voxels: labelsOut.reduce(0) { $0 + Int($1) }, stops: stops,
                               latencies: ["infer": answer.timings.totalMs])
        let encoded = Multipart.encode([
            Multipart.Part(name: "params", data: [UInt8](try APIResponse.encoder.encode(meta))),
            Multipart.Part(name: "label", filename: "\(id)_label.nii.gz", contentType: "application/gzip", data: nifti),
        ])
        return Response(status: .ok, headers: [.contentType: encoded.contentType],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: encoded.body)))
    }

    /// The tight box of a slice mask, as the propagation's key box.
    static func box(_ m: [Float], width: Int, height: Int) -> [Float] {
        var x0 = width, y0 = height, x1 = -1, y1 = -1
        for y in 0..<height {
            for x in 0..<width where m[y * width + x] > 0 {
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
            }
        }
        return [Float(x0), Float(y0), Float(x1 + 1), Float(y1 + 1)]
    }

    struct InfoModel: Encodable {
        var type: String
        var labels: [String: Int]
        var dimension: Int
        var description: String
        var config: [String: String]
    }

    struct Info: Encodable {
        var name: String
        var description: String
        var version: String
        var labels: [String]
        var models: [String: InfoModel]
        var trainers: [String: String]
        var strategies: [String: String]
        var scoring: [String: String]
        var train_stats: [String: String]
    }

    struct InferParams: Encodable {
        var label_names: [String: Int]
        var model: String
        var slice: Int
        var voxels: Int
        var stops: [String: String]
        var latencies: [String: Double]
    }
}
