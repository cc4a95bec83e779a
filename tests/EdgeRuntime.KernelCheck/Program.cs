// Why: the arm64 kernel paths (ARM dot product, plain NEON) cannot run on the x64 build machines; this runner is published
// self-contained for linux-arm64 and executed under qemu-aarch64-static (tests/EdgeRuntime.Tests/Kernels/Arm64QemuTests.cs).
// It prints the path every kernel took and exits 1 when any path disagrees with its scalar reference.
using EdgeRuntime.Core.Diagnostics;

var report = KernelSelfTest.Run(args.Length > 0 && int.TryParse(args[0], out int seed) ? seed : 42);
Console.Out.Write(report.ToText());
return report.Pass ? 0 : 1;
