using BenchmarkDotNet.Running;

// Kernel and mechanism micro-benchmarks (BenchmarkDotNet). Model-level speed is `edgefw bench`; see docs/benchmarks.md.
// Example: dotnet run -c Release --project tests/EdgeRuntime.Benchmarks -- --filter '*MatVec*' --job short
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
