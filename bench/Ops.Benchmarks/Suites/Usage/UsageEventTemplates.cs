using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace Ops.Benchmarks.Suites.Usage;

/// <summary>
/// Realistic event batches for the load driver, generated once: 5,000 users with sessions, 3 models (sonnet-heavy),
/// 20 agents, 3 channels, log-normal latencies, TTFT, 2 % errors (0.2 % critical), 5 % feedback, some cache tokens,
/// some metadata. Each template is a JSON array whose request ids are fixed-width digit runs, patched per send, so
/// the driver spends microseconds (not the Api's CPU) making every event unique. No <c>ts</c>: the Api stamps the
/// receive time, as for live traffic.
/// </summary>
internal sealed class UsageEventTemplates
{
    // Prefix + 10 digits: runs of 11 digits would look like CPF numbers to the audit redactor.
    private const int IdDigits = 11;
    private readonly List<(byte[] Body, int[] IdOffsets)> _templates = [];

    public UsageEventTemplates(int templates, int batchSize, int users, int seed)
    {
        var random = new Random(seed);
        string[] models = ["claude-sonnet-4-7", "claude-sonnet-4-7", "claude-sonnet-4-7", "claude-haiku-4-7", "claude-haiku-4-7", "claude-opus-4-7"];
        string[] channels = ["web", "slack", "whatsapp"];
        for (var t = 0; t < templates; t++)
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream))
            {
                json.WriteStartArray();
                for (var i = 0; i < batchSize; i++)
                {
                    var user = random.Next(users);
                    var latency = Math.Round(Math.Exp(7.3 + (0.8 * Normal(random))));
                    var tokensIn = random.Next(50, 4_000);
                    var error = random.NextDouble() < 0.02;
                    json.WriteStartObject();
                    json.WriteString("request_id", new string('0', IdDigits));
                    json.WriteString("user_id", $"u_{user:x4}");
                    json.WriteString("session_id", $"s_{user:x4}_{random.Next(4)}");
                    json.WriteString("agent_id", $"agent-{user % 20}");
                    json.WriteString("channel", channels[user % 3]);
                    json.WriteString("action", error ? "chat.reply" : "llm.call");
                    json.WriteString("model", models[random.Next(models.Length)]);
                    json.WriteNumber("tokens_in", tokensIn);
                    json.WriteNumber("tokens_out", random.Next(20, 1_500));
                    if (random.NextDouble() < 0.3)
                    {
                        json.WriteNumber("cache_read_tokens", tokensIn / 2);
                    }

                    json.WriteNumber("latency_ms", latency);
                    json.WriteNumber("ttft_ms", Math.Round(latency * random.NextDouble() * 0.4));
                    json.WriteNumber("cost_usd", Math.Round(random.NextDouble() / 100, 6));
                    if (error)
                    {
                        json.WriteString("status", "error");
                        json.WriteString("error_type", random.NextDouble() < 0.5 ? "timeout" : "rate_limit");
                        json.WriteString("severity", random.NextDouble() < 0.1 ? "critical" : "warning");
                    }

                    if (random.NextDouble() < 0.05)
                    {
                        json.WriteString("feedback", random.NextDouble() < 0.9 ? "up" : "down");
                    }

                    if (random.NextDouble() < 0.1)
                    {
                        json.WriteStartObject("metadata");
                        json.WriteString("prompt_version", "v12");
                        json.WriteString("locale", "pt-BR");
                        json.WriteEndObject();
                    }

                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            var body = stream.ToArray();
            _templates.Add((body, FindIds(body, batchSize)));
        }
    }

    public int BatchSize => _templates[0].IdOffsets.Length;

    /// <summary>Writes template <paramref name="batch"/> % count into <paramref name="buffer"/> with ids batch·size … +size−1.</summary>
    public ReadOnlyMemory<byte> Render(long batch, string prefix, byte[] buffer)
    {
        var (body, offsets) = _templates[(int)(batch % _templates.Count)];
        body.CopyTo(buffer, 0);
        var first = batch * offsets.Length;
        var prefixBytes = Encoding.ASCII.GetBytes(prefix);
        for (var i = 0; i < offsets.Length; i++)
        {
            var id = buffer.AsSpan(offsets[i], IdDigits);
            prefixBytes.CopyTo(id);
            Utf8Formatter.TryFormat(first + i, id[prefixBytes.Length..], out _, new System.Buffers.StandardFormat('D', (byte)(IdDigits - prefixBytes.Length)));
        }

        return buffer.AsMemory(0, body.Length);
    }

    public int MaxBodyBytes => _templates.Max(t => t.Body.Length);

    private static int[] FindIds(byte[] body, int count)
    {
        var marker = Encoding.ASCII.GetBytes("\"request_id\":\"");
        var offsets = new int[count];
        var from = 0;
        for (var i = 0; i < count; i++)
        {
            var at = body.AsSpan(from).IndexOf(marker) + from;
            offsets[i] = at + marker.Length;
            from = offsets[i];
        }

        return offsets;
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
