using System.Runtime.CompilerServices;

// Every native signature in this assembly uses blittable types only (pointers, integers, floats), so the runtime's
// marshalling is switched off: calls cost a plain native call, and NativeAOT needs no marshalling stubs.
[assembly: DisableRuntimeMarshalling]
