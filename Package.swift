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
        .executable(name: "mpathd", targets: ["mpathd"]),
        .executable(name: "mpath-export-floor", targets: ["mpath-export-floor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C: CRC32C with the SSE4.2 instruction where the CPU has it.
        .target(name: "CCRC32C"),
        // C: ioctls and syscalls Swift cannot spell (loop devices, peer credentials).
        .target(name: "CBlockShims"),
        // libfuse3 low-level API.
        .systemLibrary(name: "CFUSE3", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),

        // libdevmapper and libudev for the kernel dm-multipath data plane.
        .systemLibrary(name: "CDeviceMapper", pkgConfig: "devmapper", providers: [.apt(["libdevmapper-dev"])]),
        .systemLibrary(name: "CUDev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),

        // SCSI command set: CDB builders, response parsers, sense decoding. Pure, no IO.
        .target(name: "SCSI", swiftSettings: v5),
        // iSCSI wire protocol (sans-IO core) and sessions (SwiftNIO).
        .target(
            name: "ISCSI",
            dependencies: [
                "SCSI", "CCRC32C",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
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
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),
        // Kernel dm-multipath data plane: availability, libdevmapper client, udev monitor.
        .target(
            name: "DeviceMapper",
            dependencies: ["CDeviceMapper", "CUDev", "Multipath", .product(name: "Logging", package: "swift-log")],
            swiftSettings: v5),
        // mpathctl <-> mpathd: the control socket protocol, client and server.
        .target(
            name: "MPathControl",
            dependencies: [
                "Multipath", "CBlockShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),
        // Prometheus text endpoint on loopback.
        .target(
            name: "MPathMetrics",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),
        // The path manager: sessions, paths, maps, checker, IO routing, the daemon's services.
        .target(
            name: "MPathDaemon",
            dependencies: [
                "ISCSI", "SCSI", "MPathConfig", "Multipath", "BlockExport", "DeviceMapper", "MPathControl", "MPathMetrics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: v5),
        .executableTarget(
            name: "mpathd",
            dependencies: [
                "MPathDaemon", "MPathConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: v5),
        // Benchmark instrument for tools/bench: the FUSE + loop floor with a backend that answers at once.
        .executableTarget(
            name: "mpath-export-floor",
            dependencies: [
                "BlockExport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),
        .executableTarget(
            name: "mpathctl",
            dependencies: [
                "ISCSI", "SCSI", "MPathConfig", "Multipath", "MPathControl",
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
            name: "DeviceMapperTests",
            dependencies: ["DeviceMapper", "Multipath", .product(name: "Logging", package: "swift-log")],
            swiftSettings: v5),
        .testTarget(name: "MPathControlTests", dependencies: ["MPathControl", "Multipath"], swiftSettings: v5),
        .testTarget(name: "MPathMetricsTests", dependencies: ["MPathMetrics"], swiftSettings: v5),
        .testTarget(
            name: "BlockExportTests",
            dependencies: [
                "BlockExport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "ISCSI", "SCSI", "MPathConfig", "Multipath", "MPathControl",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: v5),
    ]
)
