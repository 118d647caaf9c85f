using System.Text.Json;
using Npgsql;
using Ops.Benchmarks.Suites.Usage;
using Ops.Modules.Usage.Ingestion;
using Ops.Modules.Usage.Pricing;

namespace Ops.Benchmarks.Suites.Dashboard;

/// <summary>
/// Loads many usage events fast for read benchmarks: the templates read and priced by the module's own code, then
/// binary COPYed into <c>usage.events</c> 100,000 at a time (no HTTP, no per-call audit event). Each batch of the
/// templates gets its own timestamp, spread over the last <c>days</c> days. The running Api's fold picks the rows up
/// like any ingested ones (it discovers events by transaction id).
/// </summary>
internal static class CopyLoad
{
    private const int RowsPerCopy = 100_000;

    public static async Task<long> LoadAsync(string connectionString, string tenantId, UsageEventTemplates templates, long count, int days)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var snapshot = await new PricingCatalog(dataSource).GetCurrentAsync(CancellationToken.None);
        var redactor = BuiltInRedactionPolicies.CreateRedactor();
        var buffer = new byte[templates.MaxBodyBytes];
        var errors = new List<FieldError>();
        var now = DateTimeOffset.UtcNow;
        var minutes = days * 24 * 60;
        await using var connection = await dataSource.OpenConnectionAsync();
        long loaded = 0, batch = 0;
        while (loaded < count)
        {
            var rows = new List<UsageEvent>(RowsPerCopy);
            while (rows.Count < RowsPerCopy && loaded + rows.Count < count)
            {
                // A prime stride spreads consecutive batches over the whole range; the newest are minutes old.
                var at = now.AddMinutes(-1 - (batch * 7_919 % minutes));
                var context = new EventReadContext(at, TimeSpan.FromMinutes(5), 8 * 1024, tenantId, redactor);
                using var document = JsonDocument.Parse(templates.Render(batch++, "l", buffer));
                var index = 0;
                foreach (var element in document.RootElement.EnumerateArray())
                {
                    if (loaded + rows.Count < count)
                    {
                        rows.Add(UsageEventReader.Read(element, index++, context, errors) ?? throw new InvalidOperationException(string.Join(", ", errors)));
                    }
                }
            }

            EventPricer.Price(snapshot, tenantId, [], rows);
            await using (var transaction = await connection.BeginTransactionAsync())
            {
                await EventCopier.CopyAsync(connection, tenantId, rows, now, CancellationToken.None);
                await transaction.CommitAsync();
            }

            loaded += rows.Count;
            if (loaded % 1_000_000 < RowsPerCopy)
            {
                Console.WriteLine($"copied {loaded:N0} events");
            }
        }

        return loaded;
    }
}
