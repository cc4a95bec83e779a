using System.Globalization;
using System.Text.Json;
using EdgeRuntime.Models.Tokenizers;
using EdgeRuntime.Tests.Samples;

namespace EdgeRuntime.Tests.Service;

/// <summary>Out of the box, one process serves two models: the sample LM on generate and the sample forecaster on infer
/// (InferModel), each with its own sessions. Expected values come from the models run in this process.</summary>
[Collection(ServiceCollection.Name)]
public sealed class DefaultModelsTests(DefaultModelsServiceFixture fixture) : IClassFixture<DefaultModelsServiceFixture>
{
    [Fact]
    public async Task Defaults_AnswerGenerateWithTheSampleLm_AndInferWithTheForecaster_InOneProcess()
    {
        await using var client = await MqttTestClient.ConnectAsync(fixture.BrokerPort);
        string root = $"edge/{fixture.NodeId}";
        await client.SubscribeAsync($"{root}/status", "two/generate", "two/infer", "two/infer-more");

        // The birth message lists both models by the topic they answer; "model" keeps the language model.
        var status = (await client.WaitForAsync($"{root}/status", j => j.TryGetProperty("online", out var o) && o.GetBoolean(), "the birth message")).Json;
        var models = status.GetProperty("models");
        Assert.Equal("based", models.GetProperty("generate").GetProperty("family").GetString());
        Assert.Equal("language", models.GetProperty("generate").GetProperty("kind").GetString());
        Assert.Equal(8192, models.GetProperty("generate").GetProperty("vocabSize").GetInt32());
        Assert.Equal("aaren", models.GetProperty("infer").GetProperty("family").GetString());
        Assert.Equal("sequence", models.GetProperty("infer").GetProperty("kind").GetString());
        Assert.Equal(5, models.GetProperty("infer").GetProperty("inputLength").GetInt32());
        Assert.Equal(2, models.GetProperty("infer").GetProperty("outputLength").GetInt32());
        Assert.Equal("based", status.GetProperty("model").GetProperty("family").GetString());

        // Inputs: the first three held-out readings of mote 2, normalised as the model card says.
        using var reference = new MotesReference();
        var stream = MotesReference.Streams(MotesReference.HeldOutLines().Skip(1).Take(3))[0];
        float[] inputs = reference.Features(stream.Readings, stream.Indoor);
        float[] expected = reference.Run(inputs);

        // A prompt and two sensor steps in flight at once, both on sessions named "shared".
        string lm = TestPaths.SampleModel("based-moby-q8_0.gguf");
        var tokenizer = TokenizerLoader.FromGguf(lm);
        int[] prompt = tokenizer.Encode("Call me Ishmael");
        if (tokenizer.AddBos) prompt = [tokenizer.BosId, .. prompt];
        var generate = client.Expect("two/generate");
        var infer = client.Expect("two/infer");
        await client.PublishAsync($"{root}/generate", "{\"prompt\":\"Call me Ishmael\",\"maxTokens\":8,\"temperature\":0,\"session\":\"shared\"}", "two/generate", Requests.Utf8("two-g"));
        await client.PublishAsync($"{root}/infer", $"{{\"session\":\"shared\",\"values\":{Rows(inputs, 0, 2)}}}", "two/infer", Requests.Utf8("two-i"));

        var text = await generate.WaitAsync();
        text.AssertComplete();
        Assert.True(text.ErrorCode is null, text.Final.GetRawText());
        Assert.Equal("length", text.FinishReason);
        Assert.Equal(GreedyReference.Run(lm, prompt, 8), text.Tokens);
        Assert.True(text.Text.Any(char.IsLetter), $"no text streamed: '{text.Text}'");
        Assert.Equal(tokenizer.Decode(text.Tokens), text.Text);

        var numbers = await infer.WaitAsync();
        Assert.True(numbers.ErrorCode is null, numbers.Final.GetRawText());
        AssertOutputs(expected.AsSpan(0, 4), numbers.Final);

        // The third step continues the forecaster's session (its state after two steps), not the LM's.
        var more = client.Expect("two/infer-more");
        await client.PublishAsync($"{root}/infer", $"{{\"session\":\"shared\",\"values\":{Rows(inputs, 2, 3)}}}", "two/infer-more", Requests.Utf8("two-i2"));
        var third = await more.WaitAsync();
        Assert.True(third.ErrorCode is null, third.Final.GetRawText());
        Assert.Equal(3, third.Final.GetProperty("position").GetInt64());
        AssertOutputs(expected.AsSpan(4, 2), third.Final);

        // Each model keeps its sessions apart: the LM's snapshot in Sessions:Directory, the forecaster's in infer/.
        Assert.True(File.Exists(Path.Combine(fixture.SessionsDirectory, "shared.snap")), "no LM snapshot shared.snap");
        Assert.True(File.Exists(Path.Combine(fixture.SessionsDirectory, "infer", "shared.snap")), "no forecaster snapshot infer/shared.snap");
        Assert.Contains("infer requests on 'edge/" + fixture.NodeId + "/infer' (aaren sequence model)", fixture.Service.Output);
    }

    [Fact]
    public async Task DefaultForecaster_WhenAbsent_IsSkippedWithOneLine_AndInferIsUnsupported()
    {
        // These processes run in the test binaries' folder: no samples/models there, as in a bundle that ships only the LM.
        using var dir = TestPaths.NewTempDir();
        string node = ServiceArgs.Node("lmonly");
        var (service, port) = await ServiceProcess.StartEmbeddedAsync(node, _ => ServiceArgs.For(node, ServiceArgs.BasedTiny, dir.File("sessions")));
        using var serviceLease = service;
        Assert.Equal(1, service.CountLines(l => l.Contains("InferModel: no InferModel:Path is set and the bundled default", StringComparison.Ordinal)));
        Assert.Contains("(no model: unsupported)", service.Output);

        await using var client = await MqttTestClient.ConnectAsync(port);
        await client.SubscribeAsync($"edge/{node}/status", "lmonly/infer");
        var status = (await client.WaitForAsync($"edge/{node}/status", j => j.TryGetProperty("online", out var o) && o.GetBoolean(), "the birth message")).Json;
        Assert.True(status.GetProperty("models").TryGetProperty("generate", out _));
        Assert.False(status.GetProperty("models").TryGetProperty("infer", out _), status.GetRawText());

        var reply = client.Expect("lmonly/infer");
        await client.PublishAsync($"edge/{node}/infer", "{\"values\":[[0,0,0,0,1]]}", "lmonly/infer", Requests.Utf8("lmonly"));
        var result = await reply.WaitAsync();
        Assert.Equal("unsupported", result.ErrorCode);
        Assert.Contains($"edge/{node}/generate", result.ErrorMessage);
        await ServiceArgs.StopCleanlyAsync(service);
    }

    private static string Rows(float[] inputs, int from, int to) =>
        "[" + string.Join(",", Enumerable.Range(from, to - from).Select(t =>
            "[" + string.Join(",", inputs.AsSpan(t * 5, 5).ToArray().Select(x => x.ToString("R", CultureInfo.InvariantCulture))) + "]")) + "]";

    /// <summary>The reply's outputs equal the in-process ones (the same float kernels; one step per request vs one prefill).</summary>
    private static void AssertOutputs(ReadOnlySpan<float> expected, JsonElement final)
    {
        float[] actual = [.. final.GetProperty("outputs").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(x => x.GetSingle()))];
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5, $"output {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }
}
