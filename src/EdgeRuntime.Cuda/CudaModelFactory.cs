using EdgeRuntime.Cuda.Models;
using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Families.Aaren;
using EdgeRuntime.Models.Families.Based;
using EdgeRuntime.Models.Families.TransNormer;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Cuda;

/// <summary>Builds the CUDA implementation of each family on one device (pass it to <see cref="ModelLoader.Load(string, ModelOptions?, IModelFactory)"/>).</summary>
/// <remarks>Each model uploads its weights once at load. With <paramref name="ownsDevice"/> the first model built takes
/// ownership of the device and disposes it with itself. Thread-safe.</remarks>
/// <param name="device">The GPU.</param>
/// <param name="options">Weight storage and graph use.</param>
/// <param name="ownsDevice">Whether the model built disposes <paramref name="device"/>.</param>
public sealed class CudaModelFactory(CudaDevice device, CudaModelOptions? options = null, bool ownsDevice = false) : IModelFactory
{
    private readonly CudaModelOptions _options = options ?? new CudaModelOptions();

    /// <inheritdoc />
    public ILanguageModel LoadBased(WeightSource weights, BasedConfig config, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        return new CudaLanguageModel(Build(() => new CudaBasedFamily(device, weights, config, _options.WeightType)), config.VocabSize, _options, ownsDevice ? device : null);
    }

    /// <inheritdoc />
    public ILanguageModel LoadTransNormer(WeightSource weights, TransNormerConfig config, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        return new CudaLanguageModel(Build(() => new CudaTransNormerFamily(device, weights, config, _options.WeightType)), config.VocabSize, _options, ownsDevice ? device : null);
    }

    /// <inheritdoc />
    public ISequenceModel LoadAaren(WeightSource weights, AarenConfig config, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(weights.Location);
        return new CudaSequenceModel(Build(() => new CudaAarenFamily(device, weights, config, _options.WeightType)), _options, ownsDevice ? device : null);
    }

    // The family uploads as it loads. On a load error (a missing or misshapen tensor) the loader disposes the weights and
    // the partial uploads are freed by their SafeHandles' finalizers.
    private CudaFamily Build(Func<CudaFamily> create)
    {
        device.MakeCurrent();
        return create();
    }
}
