import Foundation
import MPathControl
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class ControlServerTests: XCTestCase {
    private var directory = ""
    private var socketPath: String { directory + "/mpathd.sock" }

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory()
    }

    override func tearDown() {
        removeTree(directory)
    }

    private func start(_ handler: ControlHandler, allowed: Set<UInt32>? = nil) async throws -> ControlServer {
        try await ControlServer.start(socketPath: socketPath, handler: handler, allowedUIDs: allowed ?? [getuid()])
    }

    private func send(_ request: ControlRequest, timeout: Double = 10) async -> Result<ControlResponse, ControlError> {
        let path = socketPath
        return await onThread {
            do {
                return .success(try ControlClient(socketPath: path).send(request, timeout: timeout))
            } catch let error as ControlError {
                return .failure(error)
            } catch {
                return .failure(.protocolError("unexpected \(error)"))
            }
        }
    }

    private func raw() async -> RawConnection? {
        let path = socketPath
        return await onThread { RawConnection(path: path) }
    }

    func testRequestAndAnswerCarryPeerCredentials() async throws {
        let handler = RecordingHandler()
        let server = try await start(handler)
        let result = await send(.ping)
        XCTAssertEqual(result, .success(.pong(version: "test", pid: getpid())))
        XCTAssertEqual(handler.peers, [PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid())])
        await server.close()
    }

    func testSocketIsPrivateWithNoLeftoversAndRemovedOnClose() async throws {
        let server = try await start(RecordingHandler())
        var info = stat()
        XCTAssertEqual(lstat(socketPath, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["mpathd.sock"])
        await server.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath))
        let after = await send(.ping)
        XCTAssertEqual(after, .failure(.daemonNotRunning(socketPath)))
    }

    func testDefaultPolicyAnswersRootOnly() async throws {
        let handler = RecordingHandler()
        let server = try await ControlServer.start(socketPath: socketPath, handler: handler)
        let result = await send(.ping)
        if getuid() == 0 {
            XCTAssertEqual(result, .success(.pong(version: "test", pid: getpid())))
        } else {
            XCTAssertEqual(result, .success(.error(
                message: "permission denied: mpathd accepts requests from root only (uid \(getuid()))", code: 2)))
        }
        await server.close()
    }

    func testPeerWhoseUIDIsNotAllowedIsRefusedAndDisconnected() async throws {
        let handler = RecordingHandler()
        let server = try await start(handler, allowed: [12345])
        let result = await send(.ping)
        XCTAssertEqual(result, .success(.error(
            message: "permission denied: mpathd accepts requests from uid 12345 only (uid \(getuid()))", code: 2)))

        let opened = await raw()
        let connection = try XCTUnwrap(opened)
        let reply = await onThread { () -> ([String], Bool) in
            connection.write("{\"ping\":{}}\n{\"ping\":{}}\n")
            let first = connection.readLines(upTo: 1).lines
            return (first, connection.readsEOF())
        }
        XCTAssertEqual(reply.0.count, 1)
        XCTAssertEqual(reply.1, true, "closed after the refusal")
        XCTAssertTrue(handler.requests.isEmpty, "the handler never sees a refused peer's request")
        await server.close()
    }

    func testSeveralClientsAreServedConcurrently() async throws {
        let handler = RecordingHandler()
        let server = try await start(handler)
        let results = await withTaskGroup(of: Result<ControlResponse, ControlError>.self) { group in
            for _ in 0..<4 { group.addTask { await self.send(.rescan(map: "sleep")) } }
            var collected: [Result<ControlResponse, ControlError>] = []
            for await result in group { collected.append(result) }
            return collected
        }
        XCTAssertEqual(results, Array(repeating: .success(.ok(message: "rescanned")), count: 4))
        XCTAssertGreaterThan(handler.maxRunning, 1, "requests from different connections overlap")
        await server.close()
    }

    func testPipelinedRequestsOnOneConnectionAreAnsweredInOrder() async throws {
        let handler = RecordingHandler()
        let server = try await start(handler)
        let opened = await raw()
        let connection = try XCTUnwrap(opened)
        let lines = await onThread { () -> [String] in
            // All five in one write; earlier ones take longer, so concurrent handling would reorder them.
            let batch = (0..<5).map { "{\"failPath\":{\"path\":\"\($0)\"}}\n" }.joined()
            connection.write(batch)
            return connection.readLines(upTo: 5).lines
        }
        let answers = try lines.map { try ControlWire.decode(ControlResponse.self, line: Array($0.utf8)) }
        XCTAssertEqual(answers, (0..<5).map { .ok(message: "\($0)") })
        XCTAssertEqual(handler.maxRunning, 1)
        await server.close()
    }

    func testLineSplitAcrossWritesIsReassembled() async throws {
        let server = try await start(RecordingHandler())
        let opened = await raw()
        let connection = try XCTUnwrap(opened)
        let lines = await onThread { () -> [String] in
            connection.write("{\"pi")
            usleep(50_000)
            connection.write("ng\":{}}\n")
            return connection.readLines(upTo: 1).lines
        }
        XCTAssertEqual(lines, ["{\"pong\":{\"pid\":\(getpid()),\"version\":\"test\"}}"])
        await server.close()
    }

    func testMalformedLineGetsAnErrorAndTheConnectionIsClosed() async throws {
        let handler = RecordingHandler()
        let server = try await start(handler)
        let opened = await raw()
        let connection = try XCTUnwrap(opened)
        let reply = await onThread { () -> ([String], Bool) in
            connection.write("not json\n{\"ping\":{}}\n")
            let first = connection.readLines(upTo: 1).lines
            return (first, connection.readsEOF())
        }
        XCTAssertEqual(reply.0, ["{\"error\":{\"code\":2,\"message\":\"bad request: not a valid ControlRequest: not JSON\"}}"])
        XCTAssertTrue(reply.1, "nothing more after the error, then EOF")
        XCTAssertTrue(handler.requests.isEmpty)
        await server.close()
    }

    func testUnknownRequestKindIsABadRequest() async throws {
        let server = try await start(RecordingHandler())
        let opened = await raw()
        let connection = try XCTUnwrap(opened)
        let lines = await onThread { () -> [String] in
            connection.write("{\"selfDestruct\":{}}\n")
            return connection.readLines(upTo: 1).lines
        }
        XCTAssertEqual(lines.count, 1)
        let answer = try ControlWire.decode(ControlResponse.self, line: Array((lines.first ?? "").utf8))
        XCTAssertEqual(answer, .error(
            message: "bad request: not a valid ControlRequest: expected an object with exactly one known kind as its key",
            code: 2))
        await server.close()
    }

    func testOversizedLineGetsAnErrorAndTheConnectionIsClosed() async throws {
        let handler = RecordingHandler()
        let server = try await start(handler)
        let opened = await raw()
        let connection = try XCTUnwrap(opened)
        let reply = await onThread { () -> ([String], Bool) in
            // No newline anywhere: the server must give up at 4 MiB rather than buffer forever.
            connection.write([UInt8](repeating: UInt8(ascii: "a"), count: ControlWire.maximumLineBytes + 4096))
            let result = connection.readLines(upTo: 2)
            return (result.lines, result.closed)
        }
        XCTAssertEqual(reply.0, ["{\"error\":{\"code\":2,\"message\":\"bad request: line longer than 4194304 bytes\"}}"])
        XCTAssertTrue(reply.1)
        XCTAssertTrue(handler.requests.isEmpty)
        await server.close()
    }

    func testStaleSocketFileIsReplaced() async throws {
        XCTAssertTrue(makeStaleSocket(at: socketPath))
        let stale = await send(.ping)
        XCTAssertEqual(stale, .failure(.daemonNotRunning(socketPath)), "the client treats a stale socket as no daemon")
        let server = try await start(RecordingHandler())
        let result = await send(.ping)
        XCTAssertEqual(result, .success(.pong(version: "test", pid: getpid())))
        await server.close()
    }

    func testSecondServerOnALiveSocketIsRefused() async throws {
        let server = try await start(RecordingHandler())
        do {
            let second = try await start(RecordingHandler())
            await second.close()
            XCTFail("a second server started on a live socket")
        } catch {
            XCTAssertEqual(error as? ControlError, .alreadyRunning(socketPath))
        }
        let result = await send(.ping)
        XCTAssertEqual(result, .success(.pong(version: "test", pid: getpid())), "the first server is untouched")
        await server.close()
    }

    func testFileThatIsNotASocketIsLeftAlone() async throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: socketPath, contents: Data("keep".utf8)))
        do {
            let server = try await start(RecordingHandler())
            await server.close()
            XCTFail("started over a regular file")
        } catch {
            XCTAssertEqual(error as? ControlError, .notASocket(socketPath))
        }
        XCTAssertEqual(FileManager.default.contents(atPath: socketPath), Data("keep".utf8))
    }

    func testMissingRunDirectoryIsCreated() async throws {
        let nested = directory + "/run/mpathd/mpathd.sock"
        let server = try await ControlServer.start(socketPath: nested, handler: RecordingHandler(), allowedUIDs: [getuid()])
        let answer = await onThread { try? ControlClient(socketPath: nested).send(.ping) }
        XCTAssertEqual(answer, .pong(version: "test", pid: getpid()))
        await server.close()
    }

    func testTooLongSocketPathIsRefusedClearly() async throws {
        let long = directory + "/" + String(repeating: "s", count: 120)
        do {
            let server = try await ControlServer.start(socketPath: long, handler: RecordingHandler())
            await server.close()
            XCTFail("bound a path longer than sun_path")
        } catch {
            XCTAssertEqual(error as? ControlError, .system(operation: "bind", path: long, errno: ENAMETOOLONG))
        }
        XCTAssertThrowsError(try ControlClient(socketPath: long).send(.ping)) { error in
            XCTAssertEqual(error as? ControlError, .system(operation: "connect to", path: long, errno: ENAMETOOLONG))
        }
    }

    func testFailedSendsDoNotLeakDescriptors() throws {
        func openDescriptors() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }
        let long = directory + "/" + String(repeating: "s", count: 120)
        let before = try openDescriptors()
        for _ in 0..<20 {
            XCTAssertThrowsError(try ControlClient(socketPath: long).send(.ping))
            XCTAssertThrowsError(try ControlClient(socketPath: socketPath).send(.ping))
        }
        XCTAssertEqual(try openDescriptors(), before)
    }

    func testClientWithoutDaemon() {
        XCTAssertThrowsError(try ControlClient(socketPath: socketPath).send(.ping)) { error in
            XCTAssertEqual(error as? ControlError, .daemonNotRunning(socketPath))
            XCTAssertEqual("\(error)", "mpathd is not running (no control socket at \(socketPath))")
        }
    }

    func testClientTimesOutAndCloseCancelsTheHandler() async throws {
        let server = try await start(RecordingHandler())
        let started = Date()
        let result = await send(.resize(map: "hang", force: false), timeout: 0.3)
        XCTAssertEqual(result, .failure(.timedOut))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        let closing = Date()
        await server.close()
        XCTAssertLessThan(Date().timeIntervalSince(closing), 5, "close does not wait out the 10 s handler")
    }

    func testClientRejectsAnAnswerThatIsNotAResponse() async throws {
        let fake = try XCTUnwrap(serveOnce(at: socketPath, reply: "garbage\n"))
        let result = await send(.ping)
        XCTAssertEqual(result, .failure(.protocolError("not a valid ControlResponse: not JSON")))
        _ = fake
    }

    func testClientReportsADaemonThatHangsUpWithoutAnswering() async throws {
        let fake = try XCTUnwrap(serveOnce(at: socketPath, reply: nil))
        let result = await send(.ping)
        XCTAssertEqual(result, .failure(.protocolError("mpathd closed the connection without answering")))
        _ = fake
    }

    func testClientRejectsAnAnswerCutShort() async throws {
        let fake = try XCTUnwrap(serveOnce(at: socketPath, reply: "{\"ok\":{\"mess"))
        let result = await send(.ping)
        XCTAssertEqual(result, .failure(.protocolError("mpathd closed the connection in the middle of its answer")))
        _ = fake
    }
}
