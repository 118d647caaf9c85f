using Ops.Modules.Usage.Reading;

namespace Ops.Modules.Usage.Features.GetMetrics;

internal sealed record MetricsResponse(
    PeriodDto Period, UsageSummary Summary, IReadOnlyList<TimeSeriesPoint> TimeSeries, IReadOnlyList<ModelUsage> ByModel, IReadOnlyList<ProviderUsage> ByProvider);

internal sealed class GetMetricsEndpoint(MetricsReader reader, TimeProvider time) : UsageReadEndpoint<UsageQueryRequest, MetricsResponse>(time)
{
    public override void Configure() => Route(
        "/v1/usage/metrics",
        "Usage metrics: summary, time series, by model, by provider",
        "From the rollups. time_series has every bucket of the period (zero-filled, oldest first); by_model and by_provider are cost "
        + "descending. p95 latencies come from the rollups' sketches (within 1 %); null without samples, and with user_id or session_id "
        + "filters (latency is not kept per user).");

    public override async Task HandleAsync(UsageQueryRequest req, CancellationToken ct)
    {
        var query = Resolve(req);
        var m = await reader.MetricsAsync(query, ct);
        await Send.OkAsync(new MetricsResponse(PeriodDto.Of(query.Window), m.Summary, m.TimeSeries, m.ByModel, m.ByProvider), ct);
    }
}
