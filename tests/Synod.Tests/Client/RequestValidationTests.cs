using Synod.Client;
using Synod.Kv;

namespace Synod.Tests.Client;

/// <summary>Bad input is refused before anything is sent, with the state machine's sentences.</summary>
public sealed class RequestValidationTests
{
    // Nothing listens on port 1, so a request that were sent would fail differently.
    private static SynodClient NewClient() => new(new SynodClientOptions { Endpoints = ["127.0.0.1:1"] });

    [Fact]
    public async Task An_empty_key_is_refused_locally()
    {
        await using var client = NewClient();

        var error = await Assert.ThrowsAsync<SynodInvalidArgumentException>(() => client.PutAsync("", "v"));

        Assert.Equal("The key is empty; a key needs at least 1 byte. Nothing was sent.", error.Message);
    }

    [Fact]
    public async Task A_key_over_its_limit_is_refused_locally_naming_the_limit()
    {
        await using var client = NewClient();
        var key = new byte[KvLimits.KeyBytesMax + 1];
        key.AsSpan().Fill((byte)'k');

        var error = await Assert.ThrowsAsync<SynodInvalidArgumentException>(() => client.GetAsync(key));

        Assert.Equal("The key is 1025 bytes, over KeyBytesMax (1024 bytes). Nothing was sent.", error.Message);
    }

    [Fact]
    public async Task A_value_over_its_limit_is_refused_locally_naming_the_limit()
    {
        await using var client = NewClient();

        var error = await Assert.ThrowsAsync<SynodInvalidArgumentException>(
            () => client.PutAsync("k"u8.ToArray(), new byte[KvLimits.ValueBytesMax + 1]));

        Assert.Contains("over ValueBytesMax (1048576 bytes)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_at_its_limit_is_valid()
    {
        Assert.Null(RequestValidation.Problem((byte)KvOperation.Put, "k"u8.ToArray(), new byte[KvLimits.ValueBytesMax]));
    }

    [Fact]
    public void The_client_and_the_state_machine_refuse_the_same_commands_in_the_same_words()
    {
        byte[][] keys = [[], "k"u8.ToArray(), new byte[KvLimits.KeyBytesMax], new byte[KvLimits.KeyBytesMax + 1]];
        byte[][] values = [[], "v"u8.ToArray(), new byte[KvLimits.ValueBytesMax + 1]];
        foreach (var operation in new[] { KvOperation.Put, KvOperation.Delete })
        {
            foreach (var key in keys)
            {
                foreach (var value in values)
                {
                    Assert.Equal(new KvCommand(1, 1, operation, key, value).Validate(), RequestValidation.Problem((byte)operation, key, value));
                }
            }
        }
    }
}
