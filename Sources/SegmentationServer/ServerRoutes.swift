import Foundation
import Hummingbird
import MedicalImaging
import NIOCore

/// JSON in and out of the native API.
enum APIResponse {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        // The API's own types always encode; a failure here is a bug worth a 500 with its text.
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":{"status":500,"message":"response encoding failed"}}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A decoding error as a field path and what was wrong with it.
    static func describe(_ e: DecodingError) -> String {
        func path(_ c: [CodingKey]) -> String {
            c.isEmpty ? "body" : c.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
        }
        switch e {
        case .typeMismatch(let t, let c): return "\(path(c.codingPath)): expected \(t)"
        case .valueNotFound(let t, let c): return "\(path(c.codingPath)): expected \(t), found null"
        case .keyNotFound(let k, let c): return "\(path(c.codingPath + [k])): missing"
        case .dataCorrupted(let c):
            let underlying = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "\(path(c.codingPath)): \(underlying ?? c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}

/// The HTTP side of the server: routes that decode requests, call `SegmentationService`, and
/// encode answers. No model logic lives here.
struct ServerRoutes<Context: RequestContext> {
    let service: SegmentationService
    let metrics: ServerMetrics
    let maxUploadBytes: Int
    /// JSON request bodies are small (prompts); uploads have their own limit.
    let maxJSONBytes = 4 << 20

    func register(on router: Router<Context>) {
        router.get("/v1/health") { _, _ in APIResponse.json(service.health()) }
        router.get("/v1/images") { _, _ in
            APIResponse.json(try service.imageIDs.map { try service.info($0) })
        }
        router.post("/v1/images") { request, _ in try await upload(request) }
        router.get("/v1/images/:id") { _, context in APIResponse.json(try service.info(try context.parameters.require("id"))) }
        router.delete("/v1/images/:id") { _, context in
            try service.delete(try context.parameters.require("id"))
            return Response(status: .noContent)
        }
        router.post("/v1/images/:id/segment") { request, context in
            let body = try await decode(SegmentRequest.self, request)
            let answer = try await service.segment(try context.parameters.require("id"), body)
            metrics.record(answer.timings)
            return APIResponse.json(answer)
        }
        router.post("/v1/images/:id/propagate") { request, context in
            let body = try await decode(PropagateRequest.self, request)
            return APIResponse.json(try await service.propagate(try context.parameters.require("id"), body))
        }
        router.post("/v1/images/:id/encode") { request, context in
            let body = try await decode(EncodeRequest.self, request)
            return APIResponse.json(try service.encodeAhead(try context.parameters.require("id"), body), status: .accepted)
        }
        router.get("/v1/images/:id/labels") { _, context in
            let file = try service.labelFile(try context.parameters.require("id"))
            return Response(status: .ok,
                            headers: [.contentType: file.contentType,
                                      .contentDisposition: "attachment; filename=\"\(file.filename)\""],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
        }
        router.delete("/v1/images/:id/labels") { _, context in
            try service.image(try context.parameters.require("id")).clearLabels()
            return Response(status: .noContent)
        }
        router.post("/v1/images/:id/labels/undo") { _, context in
            APIResponse.json(try service.undoLabels(try context.parameters.require("id")))
        }
        router.get("/v1/images/:id/labels/:axis/:slice") { request, context in
            let (id, axis, slice) = try Self.sliceParameters(context)
            let labels = try service.labelSlice(id, axis: axis, slice: slice)
            switch request.uri.queryParameters.get("format") ?? "png" {
            case "png":
                let grey = Image(pixels: labels.values.map(Float.init), height: labels.height, width: labels.width, channels: 1)
                return Self.bytes(try PNGCodec.encode(grey), contentType: "image/png")
            case "raw":
                return Self.bytes(labels.values, contentType: "application/octet-stream")
            case let other:
                throw ServiceError.badRequest("format: '\(other)' is not one of png, raw")
            }
        }
        router.get("/v1/images/:id/slices/:axis/:slice") { request, context in
            let (id, axis, slice) = try Self.sliceParameters(context)
            let query = request.uri.queryParameters
            let window = try Self.mapping(window: query.get("window"), preset: query.get("windowPreset"))
            return Self.bytes(try service.slicePNG(id, axis: axis, slice: slice, window: window), contentType: "image/png")
        }
        router.get("/metrics") { _, _ in
            Self.bytes(metrics.scrape(service), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/v1/window-presets") { _, _ in APIResponse.json(IntensityWindow.presets) }
    }

    /// The image id, axis and slice index of a `/v1/images/{id}/.../{axis}/{slice}` path.
    static func sliceParameters(_ context: some RequestContext) throws -> (String, SliceAxis, Int) {
        let id = try context.parameters.require("id")
        let a = try context.parameters.require("axis")
        guard let axis = SliceAxis(rawValue: a) else {
            throw ServiceError.badRequest("axis: '\(a)' is not one of \(SliceAxis.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let s = try context.parameters.require("slice")
        guard let slice = Int(s) else { throw ServiceError.badRequest("slice: '\(s)' is not an integer") }
        return (id, axis, slice)
    }

    static func bytes(_ bytes: [UInt8], contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `POST /v1/images?name=FILE[&window=L,W | &windowPreset=NAME]` with the file as the body.
    func upload(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard let name = query.get("name"), !name.isEmpty else {
            throw ServiceError.badRequest("name: the query parameter 'name' (the file's name, e.g. ct.nii.gz) is required; its extension gives the format")
        }
        let mapping = try Self.mapping(window: query.get("window"), preset: query.get("windowPreset"))
        let bytes = try await Self.collect(request, limit: maxUploadBytes)
        let info = try service.upload(bytes, name: name, mapping: mapping)
        return APIResponse.json(info, status: .created)
    }

    static func mapping(window: String?, preset: String?) throws -> IntensityMapping? {
        if window != nil && preset != nil { throw ServiceError.badRequest("give either window or windowPreset, not both") }
        if let w = window {
            guard let parsed = IntensityWindow(argument: w) else {
                throw ServiceError.badRequest("window: '\(w)' is not LEVEL,WIDTH with a positive width (e.g. 40,400)")
            }
            return .window(parsed)
        }
        if let p = preset {
            guard let w = IntensityWindow.presets[p] else {
                throw ServiceError.badRequest("windowPreset: '\(p)' is not one of \(IntensityWindow.presets.keys.sorted().joined(separator: ", "))")
            }
            return .window(w)
        }
        return nil
    }

    /// The body, refused with 413 before reading when its declared length is over `limit`.
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw ServiceError.tooLarge("the body declares \(declared) bytes; the limit is \(limit) (--max-upload-mb)")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw ServiceError.tooLarge("the body exceeds the limit of \(limit) bytes (--max-upload-mb)")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let bytes = try await Self.collect(request, limit: maxJSONBytes)
        guard !bytes.isEmpty else { throw ServiceError.badRequest("the request needs a JSON body") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let e as DecodingError {
            throw ServiceError.badRequest("the JSON body does not match the schema: \(APIResponse.describe(e))")
        }
    }
}
