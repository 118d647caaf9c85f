using System.Net;
using Ops.Testing;
using Shouldly;
using Xunit;
using static Ops.Modules.Usage.Tests.Integration.EventRequests;
using static Ops.Testing.UsageEvents;

namespace Ops.Modules.Usage.Tests.Integration;

public sealed class FeedbackTests(OpsTestHost host) : IClassFixture<OpsTestHost>
{
    private UsageDatabase Db => new(host.ConnectionString);

    [Fact]
    public async Task Later_feedback_replaces_earlier_and_the_rollup_counts_follow()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Ingest.PostEventsAsync([Event("fb-1", OpsTestHost.Epoch), Event("fb-2", OpsTestHost.Epoch, new { feedback = "up" })])).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();
        (await Counts(tenant.Id)).ShouldBe((1L, 0L, 1L, 0L));

        var first = (await (await tenant.Ingest.PostFeedbackAsync("fb-1", "up", "great, thanks nei@email.com")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        first["previous_rating"].ShouldBeNull();
        (await Counts(tenant.Id)).ShouldBe((2L, 0L, 2L, 0L));

        var second = (await (await tenant.Ingest.PostFeedbackAsync("fb-1", "down")).ShouldHaveStatusAsync(HttpStatusCode.OK))!;
        second["previous_rating"]!.GetValue<string>().ShouldBe("up");
        (await Counts(tenant.Id)).ShouldBe((1L, 1L, 1L, 1L));

        (await tenant.Ingest.PostFeedbackAsync("fb-1", "down")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Counts(tenant.Id)).ShouldBe((1L, 1L, 1L, 1L), "the same rating again changes nothing");

        (await tenant.Ingest.PostFeedbackAsync("fb-2", "down")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Counts(tenant.Id)).ShouldBe((0L, 2L, 0L, 2L), "feedback sent with the event is replaced too");

        (await Db.ScalarAsync<string?>("SELECT feedback_comment FROM usage.events WHERE tenant_id = @t AND request_id = 'fb-1'", new { t = tenant.Id }))
            .ShouldBeNull("the last rating had no comment");
    }

    [Fact]
    public async Task Feedback_on_an_event_not_yet_folded_is_counted_once_by_the_fold()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Ingest.PostEventsAsync([Event("nf-1", OpsTestHost.Epoch, new { feedback = "down" }), Event("nf-2", OpsTestHost.Epoch)])).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tenant.Ingest.PostFeedbackAsync("nf-1", "up")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tenant.Ingest.PostFeedbackAsync("nf-2", "up")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();
        (await Counts(tenant.Id)).ShouldBe((2L, 0L, 2L, 0L));
        (await tenant.Ingest.PostFeedbackAsync("nf-2", "down")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await host.FoldAsync();
        (await Counts(tenant.Id)).ShouldBe((1L, 1L, 1L, 1L));
    }

    [Fact]
    public async Task Comments_are_redacted()
    {
        var tenant = await host.CreateTenantAsync();
        (await tenant.Ingest.PostEventsAsync([Event("fb-c", OpsTestHost.Epoch)])).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tenant.Ingest.PostFeedbackAsync("fb-c", "down", "wrong answer, write to nei@email.com")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Db.ScalarAsync<string>("SELECT feedback_comment FROM usage.events WHERE tenant_id = @t AND request_id = 'fb-c'", new { t = tenant.Id }))
            .ShouldBe("wrong answer, write to [email]");
    }

    [Fact]
    public async Task Feedback_on_an_unknown_or_another_tenants_event_is_not_found_and_bad_ratings_are_400()
    {
        var owner = await host.CreateTenantAsync();
        var other = await host.CreateTenantAsync();
        (await owner.Ingest.PostEventsAsync([Event("fb-x", OpsTestHost.Epoch)])).StatusCode.ShouldBe(HttpStatusCode.OK);

        await (await other.Ingest.PostFeedbackAsync("fb-x", "down")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await owner.Ingest.PostFeedbackAsync("nope", "down")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await owner.Ingest.PostFeedbackAsync("fb-x", "meh")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "rating");
        await host.FoldAsync();
        (await Counts(owner.Id)).ShouldBe((0L, 0L, 0L, 0L));
    }

    private async Task<(long HourlyUp, long HourlyDown, long DailyUp, long DailyDown)> Counts(string tenant) =>
        (await Db.QueryAsync<(long, long, long, long)>(
            """
            SELECT (SELECT coalesce(sum(feedback_up), 0) FROM usage.hourly_rollup WHERE tenant_id = @tenant)::bigint,
                   (SELECT coalesce(sum(feedback_down), 0) FROM usage.hourly_rollup WHERE tenant_id = @tenant)::bigint,
                   (SELECT coalesce(sum(feedback_up), 0) FROM usage.daily_rollup WHERE tenant_id = @tenant)::bigint,
                   (SELECT coalesce(sum(feedback_down), 0) FROM usage.daily_rollup WHERE tenant_id = @tenant)::bigint
            """,
            new { tenant })).Single();
}
