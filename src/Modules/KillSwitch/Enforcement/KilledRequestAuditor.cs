using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Ops.Modules.Audit.Contracts;

namespace Ops.Modules.KillSwitch.Enforcement;

/// <summary>
/// Writes the <c>killed</c> audit events of rejected requests in batches, off the request path. While the
/// database is unreachable, events wait in a bounded queue (oldest kept, newest dropped and counted once the
/// queue is full) and the batch is retried with back-off, so a halt during an outage is still recorded.
/// </summary>
internal sealed partial class KilledRequestAuditor(NpgsqlDataSource dataSource, IAuditWriter audit, ILogger<KilledRequestAuditor> logger) : BackgroundService
{
    private const int Capacity = 10_000;
    private const int BatchSize = 500;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly Channel<AuditEvent> _queue = Channel.CreateBounded<AuditEvent>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private long _dropped;

    public void Enqueue(AuditEvent auditEvent)
    {
        if (!_queue.Writer.TryWrite(auditEvent))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AuditEvent>(BatchSize);
        var backoff = TimeSpan.FromSeconds(1);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < BatchSize && _queue.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                }

                try
                {
                    await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                    await using var transaction = await connection.BeginTransactionAsync(stoppingToken);
                    await audit.WriteManyAsync(batch, connection, transaction, stoppingToken);
                    await transaction.CommitAsync(stoppingToken);
                    batch.Clear();
                    backoff = TimeSpan.FromSeconds(1);
                    if (Interlocked.Exchange(ref _dropped, 0) is var dropped and > 0)
                    {
                        LogDropped(logger, dropped);
                    }
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    LogWriteFailed(logger, batch.Count, ex.Message);
                    await Task.Delay(backoff, stoppingToken);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                }
#pragma warning disable CA1031 // A batch that can never be written must not stop the writer (nor be retried forever).
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    LogBatchDropped(logger, batch.Count, ex);
                    batch.Clear();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kill switch: could not write {Count} 'killed' audit events ({Reason}); retrying")]
    private static partial void LogWriteFailed(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kill switch: {Count} 'killed' audit events could not be written and were dropped")]
    private static partial void LogBatchDropped(ILogger logger, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Kill switch: {Count} 'killed' audit events were dropped while the audit log was unreachable and the queue was full")]
    private static partial void LogDropped(ILogger logger, long count);
}
