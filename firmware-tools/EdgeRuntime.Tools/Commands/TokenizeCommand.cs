using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Tokenizers;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw tokenize</c> (text → ids) and <c>edgefw detokenize</c> (ids → text) with a checkpoint's tokenizer.</summary>
/// <remarks>
/// Data goes to stdout, diagnostics to stderr. Exit codes: 0 ok, 1 failure (malformed tokenizer files), 2 usage or
/// unusable input (no tokenizer in the directory, ids that are not ids of this tokenizer). Stateless.
/// </remarks>
public static class TokenizeCommand
{
    /// <summary>Builds <c>tokenize --tokenizer &lt;dir&gt; --text "..." [--json]</c>.</summary>
    public static Command Create()
    {
        var tokenizerOption = TokenizerOption();
        var textOption = new Option<string>("--text")
        {
            Description = "Text to encode (string; plain text: special-token strings are not parsed; no BOS/EOS added)",
            Required = true,
        };
        var jsonOption = JsonOption("Print {\"ids\":[...]} instead of comma-separated ids");
        var command = new Command("tokenize", "Encode text to token ids with the tokenizer beside a checkpoint")
        {
            tokenizerOption,
            textOption,
            jsonOption,
        };
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            return Guard("tokenize", error, () =>
            {
                var tokenizer = TokenizerLoader.Load(parseResult.GetValue(tokenizerOption)!);
                int[] ids = tokenizer.Encode(parseResult.GetValue(textOption)!);
                output.WriteLine(parseResult.GetValue(jsonOption)
                    ? JsonSerializer.Serialize(new TokenIdsJson(ids), TokenizeJsonContext.Default.TokenIdsJson)
                    : string.Join(',', ids));
                return 0;
            });
        });
        return command;
    }

    /// <summary>Builds <c>detokenize --tokenizer &lt;dir&gt; --ids 1,2,3 [--json]</c>.</summary>
    public static Command CreateDetokenize()
    {
        var tokenizerOption = TokenizerOption();
        var idsOption = new Option<string>("--ids")
        {
            Description = "Token ids separated by commas or spaces, e.g. 15496,11,995 (each in [0, vocabulary size))",
            Required = true,
        };
        var jsonOption = JsonOption("Print {\"text\":\"...\"} instead of the raw text");
        var command = new Command("detokenize", "Decode token ids to text with the tokenizer beside a checkpoint (special tokens left out)")
        {
            tokenizerOption,
            idsOption,
            jsonOption,
        };
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            return Guard("detokenize", error, () =>
            {
                if (!TryParseIds(parseResult.GetValue(idsOption)!, out int[] ids, out string problem))
                {
                    error.WriteLine($"detokenize: --ids: {problem}");
                    return 2;
                }
                var tokenizer = TokenizerLoader.Load(parseResult.GetValue(tokenizerOption)!);
                foreach (int id in ids)
                {
                    if ((uint)id >= (uint)tokenizer.VocabSize)
                    {
                        error.WriteLine($"detokenize: --ids: id {id} is outside the tokenizer's vocabulary [0, {tokenizer.VocabSize})");
                        return 2;
                    }
                }
                string text = tokenizer.Decode(ids);
                output.WriteLine(parseResult.GetValue(jsonOption)
                    ? JsonSerializer.Serialize(new TokenTextJson(text), TokenizeJsonContext.Default.TokenTextJson)
                    : text);
                return 0;
            });
        });
        return command;
    }

    /// <summary>Parses "1,2,3" or "1 2 3" (empty = no ids).</summary>
    internal static bool TryParseIds(string text, out int[] ids, out string problem)
    {
        var list = new List<int>();
        foreach (string part in text.Split([',', ' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                ids = [];
                problem = $"'{part}' is not a token id (expected a non-negative integer)";
                return false;
            }
            list.Add(id);
        }
        ids = [.. list];
        problem = string.Empty;
        return true;
    }

    private static Option<string> TokenizerOption() => new("--tokenizer")
    {
        Description = "Checkpoint directory holding tokenizer.json, tokenizer.model, or vocab.json + merges.txt, or a .gguf file (path)",
        Required = true,
    };

    private static Option<bool> JsonOption(string description) => new("--json") { Description = description };

    private static int Guard(string name, TextWriter error, Func<int> run)
    {
        try
        {
            return run();
        }
        catch (FileNotFoundException ex)
        {
            error.WriteLine($"{name}: {ex.Message}");
            return 2;
        }
        catch (ModelLoadException ex)
        {
            error.WriteLine($"{name}: {ex.Message}");
            return 1;
        }
        catch (IOException ex)
        {
            error.WriteLine($"{name}: {ex.Message}");
            return 1;
        }
    }
}
