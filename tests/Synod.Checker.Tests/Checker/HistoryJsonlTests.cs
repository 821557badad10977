using Synod.Checker;
using static Synod.Tests.Checker.Ops;

namespace Synod.Tests.Checker;

public sealed class HistoryJsonlTests
{
    [Fact]
    public void Written_history_reads_back_unchanged()
    {
        Operation[] history =
        [
            Put(3, "k1", "v \"quoted\" ü", 1.25, 1.5),
            Get(2, "k1", "v \"quoted\" ü", 1.3, 2),
            Get(2, "k1", null, 0.1, 0.2),
            Delete(1, "k1", 3, 3.000001),
            UnknownPut(4, "k2", "late", 4.5),
            UnknownGet(4, "k2", 5.5),
            FailedPut(5, "k2", "never", 6, 7),
        ];
        var writer = new StringWriter();

        HistoryJsonl.Write(writer, history);
        var read = HistoryJsonl.Read(new StringReader(writer.ToString()));

        Assert.Equal(history, read);
    }

    [Fact]
    public void Each_operation_is_one_line_with_the_documented_fields()
    {
        var writer = new StringWriter();

        HistoryJsonl.Write(writer, [Put(3, "k1", "v", 1.25, 1.5), Get(2, "k1", null, 2, 3), UnknownPut(1, "k1", "w", 4)]);

        var expected =
            "{\"client\": 3, \"op\": \"put\", \"key\": \"k1\", \"value\": \"v\", \"invoke\": 1.25, \"complete\": 1.5, \"result\": \"ok\", \"outcome\": \"ok\"}\n" +
            "{\"client\": 2, \"op\": \"get\", \"key\": \"k1\", \"value\": null, \"invoke\": 2, \"complete\": 3, \"result\": null, \"outcome\": \"ok\"}\n" +
            "{\"client\": 1, \"op\": \"put\", \"key\": \"k1\", \"value\": \"w\", \"invoke\": 4, \"complete\": null, \"result\": null, \"outcome\": \"unknown\"}\n";
        Assert.Equal(expected, writer.ToString());
    }

    [Fact]
    public void Blank_lines_are_skipped()
    {
        var text = "\n{\"client\": 1, \"op\": \"delete\", \"key\": \"k\", \"invoke\": 0, \"complete\": 1, \"outcome\": \"ok\"}\n\n";

        var read = HistoryJsonl.Read(new StringReader(text));

        Assert.Equal([Delete(1, "k", 0, 1)], read);
    }

    [Theory]
    [InlineData("{\"client\": 1, \"op\": \"put\"", "not valid JSON")]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("{\"op\": \"get\", \"key\": \"k\", \"invoke\": 0, \"complete\": 1, \"outcome\": \"ok\"}", "\"client\" is missing")]
    [InlineData("{\"client\": 1, \"op\": \"swap\", \"key\": \"k\", \"invoke\": 0, \"complete\": 1, \"outcome\": \"ok\"}", "\"op\" is \"swap\"")]
    [InlineData("{\"client\": 1, \"op\": \"cas\", \"key\": \"k\", \"value\": \"v\", \"invoke\": 0, \"complete\": 1, \"result\": true, \"outcome\": \"ok\"}", "the field \"expect\" is missing")]
    [InlineData("{\"client\": 1, \"op\": \"get\", \"key\": \"k\", \"invoke\": \"soon\", \"complete\": 1, \"outcome\": \"ok\"}", "\"invoke\" must be a number")]
    [InlineData("{\"client\": 1, \"op\": \"put\", \"key\": \"k\", \"value\": null, \"invoke\": 0, \"complete\": 1, \"outcome\": \"ok\"}", "a put must carry the value")]
    [InlineData("{\"client\": 1, \"op\": \"get\", \"key\": \"k\", \"invoke\": 2, \"complete\": 1, \"outcome\": \"ok\"}", "completes before it is invoked")]
    [InlineData("{\"client\": 1, \"op\": \"get\", \"key\": \"k\", \"invoke\": 0, \"complete\": null, \"outcome\": \"ok\"}", "needs a completion time")]
    public void Malformed_line_is_rejected_with_its_line_number_and_the_problem(string badLine, string problem)
    {
        var text = "{\"client\": 1, \"op\": \"put\", \"key\": \"k\", \"value\": \"v\", \"invoke\": 0, \"complete\": 1, \"result\": \"ok\", \"outcome\": \"ok\"}\n" + badLine + "\n";

        var error = Assert.Throws<FormatException>(() => HistoryJsonl.Read(new StringReader(text)));

        Assert.StartsWith("line 2: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }
}
