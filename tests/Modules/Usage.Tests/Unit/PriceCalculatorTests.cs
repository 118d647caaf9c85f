using Ops.Modules.Usage.Pricing;
using Shouldly;
using Xunit;

namespace Ops.Modules.Usage.Tests.Unit;

public sealed class PriceCalculatorTests
{
    private static readonly ModelPrice Opus = new("claude-opus-4-7", "anthropic", new TokenRates(15m, 75m));

    [Fact]
    public void The_seed_line_costs_tokens_times_rate_per_million()
    {
        // 412 × $15/1M + 835 × $75/1M
        PriceCalculator.Cost(Opus, new TokenUsage(412, 835)).ShouldBe(0.068805m);
    }

    [Fact]
    public void Zero_tokens_cost_nothing_and_one_token_is_exact()
    {
        PriceCalculator.Cost(Opus, new TokenUsage(0, 0)).ShouldBe(0m);
        var haiku = new ModelPrice("claude-haiku-4-7", "anthropic", new TokenRates(0.80m, 4m));
        PriceCalculator.Cost(haiku, new TokenUsage(1, 0)).ShouldBe(0.0000008m);
        PriceCalculator.Cost(haiku, new TokenUsage(0, 1)).ShouldBe(0.000004m);
    }

    [Fact]
    public void Cache_tokens_are_part_of_the_input_and_priced_at_their_own_rates()
    {
        var cached = Opus with { Rates = new TokenRates(15m, 75m, CacheReadPerMTok: 1.5m, CacheWritePerMTok: 18.75m) };
        // 1,000 in = 600 cache reads + 300 cache writes + 100 uncached; 10 out.
        var cost = PriceCalculator.Cost(cached, new TokenUsage(1_000, 10, CacheReadTokens: 600, CacheWriteTokens: 300));
        cost.ShouldBe(((100 * 15m) + (600 * 1.5m) + (300 * 18.75m) + (10 * 75m)) / 1_000_000m);
    }

    [Fact]
    public void Cache_tokens_without_a_cache_rate_cost_the_input_rate()
    {
        PriceCalculator.Cost(Opus, new TokenUsage(1_000, 10, CacheReadTokens: 600, CacheWriteTokens: 300))
            .ShouldBe(PriceCalculator.Cost(Opus, new TokenUsage(1_000, 10)));
    }

    [Fact]
    public void Above_the_long_context_threshold_the_whole_request_uses_the_tier_rates()
    {
        var tiered = Opus with { LongContext = new LongContextTier(200_000, new TokenRates(30m, 112.5m, CacheReadPerMTok: 3m)) };

        PriceCalculator.Cost(tiered, new TokenUsage(200_000, 1_000)).ShouldBe(((200_000 * 15m) + (1_000 * 75m)) / 1_000_000m, "at the threshold: standard rates");
        PriceCalculator.Cost(tiered, new TokenUsage(200_001, 1_000)).ShouldBe(((200_001 * 30m) + (1_000 * 112.5m)) / 1_000_000m, "one above: all tokens at tier rates");
        PriceCalculator.Cost(tiered, new TokenUsage(300_000, 0, CacheReadTokens: 100_000, CacheWriteTokens: 50_000))
            .ShouldBe(((150_000 * 30m) + (100_000 * 3m) + (50_000 * 30m)) / 1_000_000m, "tier cache-read rate; tier input rate for cache writes without a tier rate");
    }

    [Fact]
    public void Cache_tokens_beyond_the_input_are_refused()
    {
        Should.Throw<ArgumentException>(() => PriceCalculator.Cost(Opus, new TokenUsage(10, 0, CacheReadTokens: 8, CacheWriteTokens: 3)));
    }
}
