using Synod.Client;

namespace Synod.Tests.Client;

public sealed class SynodClientOptionsTests
{
    [Fact]
    public void The_defaults_are_valid()
    {
        new SynodClientOptions { Endpoints = ["127.0.0.1:7001"] }.Validate();
    }

    [Fact]
    public void No_endpoints_is_refused_naming_the_setting()
    {
        var error = Assert.Throws<ArgumentException>(() => new SynodClientOptions { Endpoints = [] }.Validate());
        Assert.StartsWith("Endpoints is empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repeated_endpoint_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(
            () => new SynodClientOptions { Endpoints = ["127.0.0.1:7001", "127.0.0.1:7001"] }.Validate());
        Assert.Contains("twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_attempt_longer_than_the_operation_is_refused_naming_both_settings()
    {
        var options = new SynodClientOptions
        {
            Endpoints = ["127.0.0.1:7001"],
            AttemptTimeout = TimeSpan.FromSeconds(5),
            OperationTimeout = TimeSpan.FromSeconds(1),
        };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains("AttemptTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains("OperationTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_backoff_cap_below_the_first_pause_is_refused()
    {
        var options = new SynodClientOptions
        {
            Endpoints = ["127.0.0.1:7001"],
            RetryBackoff = TimeSpan.FromSeconds(2),
            RetryBackoffMax = TimeSpan.FromSeconds(1),
        };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.StartsWith("RetryBackoffMax", error.Message, StringComparison.Ordinal);
    }
}
