using System.CommandLine;
using System.Text.Json;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;
using Spectre.Console;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw convert &lt;hf-dir&gt; -o model.gguf --type f32|f16|q8_0|q4_0</c>: a checkpoint directory to one GGUF file.</summary>
/// <remarks>
/// Progress bar on stderr while tensors are written; then a per-tensor table (name, shape, source type, written type,
/// bytes) and totals on stdout, or the same as JSON with <c>--json</c>. Exit codes: 0 ok, 1 conversion failed,
/// 2 unusable input. Stateless; each invocation stands alone.
/// </remarks>
public static class ConvertCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var input = new Argument<string>("hf-dir") { Description = "Checkpoint directory: config.json, *.safetensors, optional vocab.json+merges.txt / tokenizer.json / tokenizer.model" };
        var output = new Option<string>("--output", "-o") { Description = "Output .gguf file (written atomically)", Required = true };
        var type = new Option<string>("--type", "-t")
        {
            Description = "Type of the weight matrices: f32 (lossless) | f16 | q8_0 (ggml Q8_0, 34 B/32 values) | q4_0 (ggml Q4_0, 18 B/32 values); norms, biases, vectors and conv kernels stay f32",
            DefaultValueFactory = _ => "f32",
        };
        type.AcceptOnlyFromAmong("f32", "f16", "q8_0", "q4_0");
        var name = new Option<string?>("--name") { Description = "Value of general.name (default: the directory's name)" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on stdout instead of a table" };
        var command = new Command("convert", "Convert a Hugging Face checkpoint directory to one GGUF v3 file") { input, output, type, name, json };
        command.SetAction(parse => Run(parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(type)!, parse.GetValue(name), parse.GetValue(json)));
        return command;
    }

    /// <summary>Runs the conversion; returns the exit code.</summary>
    public static int Run(string directory, string outputPath, string type, string? name, bool json)
    {
        var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (!Directory.Exists(directory))
        {
            err.MarkupLine($"[red]convert:[/] no directory at '{Markup.Escape(Path.GetFullPath(directory))}'");
            return 2;
        }
        try
        {
            using var converter = GgufConverter.Open(directory, GgufConverter.ParseFileType(type), name);
            long fileBytes = 0;
            err.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"{converter.Architecture} → {type}", maxValue: Math.Max(1, converter.TensorBytes));
                    fileBytes = converter.Write(outputPath, new ProgressToTask(task));
                    task.Value = task.MaxValue;
                });
            if (json) WriteJson(converter, outputPath, type, fileBytes);
            else WriteTable(converter, outputPath, type, fileBytes);
            return 0;
        }
        catch (Exception ex) when (ex is ModelLoadException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            err.MarkupLine($"[red]convert failed:[/] {Markup.Escape(ex.Message)}");
            return 1;
        }
    }

    private static void WriteTable(GgufConverter c, string outputPath, string type, long fileBytes)
    {
        var table = new Table().AddColumn("tensor").AddColumn("shape").AddColumn("source").AddColumn("type").AddColumn(new TableColumn("bytes").RightAligned());
        foreach (var t in c.Tensors)
            table.AddRow(new Text(t.Name), new Text(t.ShapeText), new Text(t.SourceType), new Text(GgmlTypeInfo.Name(t.Type)), new Text(t.ByteLength.ToString("N0")));
        table.AddRow(new Text("total"), new Text($"{c.Tensors.Count} tensors"), new Text(""), new Text(type), new Text(c.TensorBytes.ToString("N0")));
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"{Path.GetFullPath(outputPath)}: {fileBytes:N0} bytes, architecture {c.Architecture}, {c.Metadata.Count} metadata keys, tokenizer: {c.TokenizerDescription}");
    }

    private static void WriteJson(GgufConverter c, string outputPath, string type, long fileBytes)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("output", Path.GetFullPath(outputPath));
            w.WriteString("architecture", c.Architecture);
            w.WriteString("type", type);
            w.WriteNumber("fileBytes", fileBytes);
            w.WriteNumber("tensorBytes", c.TensorBytes);
            w.WriteNumber("metadataKeys", c.Metadata.Count);
            w.WriteString("tokenizer", c.TokenizerDescription);
            w.WriteStartArray("tensors");
            foreach (var t in c.Tensors)
            {
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WriteStartArray("shape");
                foreach (long d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteString("sourceType", t.SourceType);
                w.WriteString("type", GgmlTypeInfo.Name(t.Type));
                w.WriteNumber("bytes", t.ByteLength);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }

    /// <summary>Synchronous progress sink (System.Progress would post to the thread pool).</summary>
    private sealed class ProgressToTask(ProgressTask task) : IProgress<GgufConvertProgress>
    {
        public void Report(GgufConvertProgress value)
        {
            task.Description = $"{value.Index}/{value.Count} {Markup.Escape(value.Tensor.Name)}";
            task.Value = value.BytesDone;
        }
    }
}
