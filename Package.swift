// swift-tools-version:6.0
import PackageDescription

// Language mode 5 everywhere: the protocol core is value types driven from one event loop,
// and strict-concurrency checking would add ceremony without catching real races there.
let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "mpath-iscsi",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mpathctl", targets: ["mpathctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C: CRC32C with the SSE4.2 instruction where the CPU has it.
        .target(name: "CCRC32C"),
        // C: ioctls and syscalls Swift cannot spell (loop devices, peer credentials).
        .target(name: "CBlockShims"),
        // libfuse3 low-level API.
        .systemLibrary(name: "CFUSE3", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),

        // SCSI command set: CDB builders, response parsers, sense decoding. Pure, no IO.
        .target(name: "SCSI", swiftSettings: v5),
        // iSCSI wire protocol (sans-IO core) and sessions (SwiftNIO).
        .target(
            name: "ISCSI",
            dependencies: [
                "SCSI", "CCRC32C",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),
        // open-iscsi and multipath-tools configuration files, node records.
        .target(name: "MPathConfig", swiftSettings: v5),
        // Paths, maps, policies, device-mapper table model.
        .target(name: "Multipath", dependencies: ["SCSI", "ISCSI", "MPathConfig"], swiftSettings: v5),
        // Block device export: FUSE file + loop device.
        .target(
            name: "BlockExport",
            dependencies: [
                "CFUSE3", "CBlockShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),
        .executableTarget(
            name: "mpathctl",
            dependencies: [
                "ISCSI", "SCSI", "MPathConfig", "Multipath",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),

        .testTarget(name: "SCSITests", dependencies: ["SCSI"], swiftSettings: v5),
        .testTarget(
            name: "ISCSITests",
            dependencies: ["ISCSI", "SCSI", .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: v5),
        .testTarget(name: "MPathConfigTests", dependencies: ["MPathConfig"], swiftSettings: v5),
        .testTarget(name: "MultipathTests", dependencies: ["Multipath"], swiftSettings: v5),
        .testTarget(
            name: "BlockExportTests",
            dependencies: [
                "BlockExport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "ISCSI", "SCSI", "MPathConfig", "Multipath",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: v5),
    ]
)
