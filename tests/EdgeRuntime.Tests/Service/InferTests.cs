using EdgeRuntime.Models.Formats.Safetensors;

namespace EdgeRuntime.Tests.Service;

/// <summary>Infer requests to an Aaren sequence model, compared with the golden outputs.</summary>
[Collection(ServiceCollection.Name)]
public sealed class InferTests
{
    [Fact]
    public async Task Infer_StreamedThroughASession_MatchesTheGoldenOutputs()
    {
        string model = TestPaths.Golden("aaren-tiny");
        float[] inputs, expected;
        int steps, inWidth, outWidth;
        using (var golden = new SafetensorsFile(Path.Combine(model, "golden.safetensors")))
        {
            inputs = golden.ReadF32("inputs");
            expected = golden.ReadF32("outputs");
            steps = (int)golden.Tensors["inputs"].Shape[0];
            inWidth = (int)golden.Tensors["inputs"].Shape[1];
            outWidth = (int)golden.Tensors["outputs"].Shape[1];
        }

        using var dir = TestPaths.NewTempDir();
        string node = ServiceArgs.Node("aaren");
        var (service, port) = await ServiceProcess.StartEmbeddedAsync(node, _ => ServiceArgs.For(node, model, dir.File("sessions"), $"--Limits:MaxPromptTokens={steps}"));
        using var serviceLease = service;
        await using var client = await MqttTestClient.ConnectAsync(port);
        string root = $"edge/{node}";

        // Three requests on one session: a list of steps, a flat list, and a single step.
        int a = steps / 2, b = steps - 1;
        string Rows(int from, int to) => "[" + string.Join(",", Enumerable.Range(from, to - from).Select(t =>
            "[" + string.Join(",", inputs.AsSpan(t * inWidth, inWidth).ToArray().Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]")) + "]";
        string Flat(int from, int to) => "[" + string.Join(",", inputs.AsSpan(from * inWidth, (to - from) * inWidth).ToArray().Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]";
        string[] bodies =
        [
            $"{{\"session\":\"pump-7\",\"values\":{Rows(0, a)}}}",
            $"{{\"session\":\"pump-7\",\"values\":{Flat(a, b)}}}",
            $"{{\"session\":\"pump-7\",\"values\":{Rows(b, steps)}}}",
        ];
        var outputs = new List<float>();
        for (int i = 0; i < bodies.Length; i++)
        {
            string reply = $"infer/{i}";
            await client.SubscribeAsync(reply);
            var stream = client.Expect(reply);
            await client.PublishAsync($"{root}/infer", bodies[i], reply, Requests.Utf8($"infer-{i}"));
            var result = await stream.WaitAsync();
            Assert.True(result.ErrorCode is null, result.Final.GetRawText());
            Assert.Equal("stop", result.FinishReason);
            foreach (var row in result.Final.GetProperty("outputs").EnumerateArray())
            {
                Assert.Equal(outWidth, row.GetArrayLength());
                outputs.AddRange(row.EnumerateArray().Select(x => x.GetSingle()));
            }
        }
        Assert.Equal(expected.Length, outputs.Count);
        float scale = expected.Max(MathF.Abs);
        int worst = 0;
        for (int i = 1; i < expected.Length; i++) if (Math.Abs(outputs[i] - expected[i]) > Math.Abs(outputs[worst] - expected[worst])) worst = i;
        double error = Math.Abs(outputs[worst] - expected[worst]) / scale;
        Assert.True(error <= 1e-4, $"outputs: max relative error {error:E2} at step {worst / outWidth}, column {worst % outWidth}: expected {expected[worst]}, got {outputs[worst]}");

        // A generate request to a sequence model is the wrong kind; the wrong input width is a bad request.
        await client.SubscribeAsync("infer/wrong");
        var wrong = client.Expect("infer/wrong");
        await client.PublishAsync($"{root}/generate", "{\"tokens\":[1,2]}", "infer/wrong", Requests.Utf8("wrong"));
        Assert.Equal("unsupported", (await wrong.WaitAsync()).ErrorCode);
        await client.SubscribeAsync("infer/width");
        var width = client.Expect("infer/width");
        await client.PublishAsync($"{root}/infer", "{\"values\":[[1,2]]}", "infer/width", Requests.Utf8("width"));
        var widthResult = await width.WaitAsync();
        Assert.Equal("bad_request", widthResult.ErrorCode);
        Assert.Contains($"input length {inWidth}", widthResult.ErrorMessage);

        await ServiceArgs.StopCleanlyAsync(service);
    }
}
