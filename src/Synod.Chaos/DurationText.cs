using System.Globalization;

namespace Synod.Chaos;

/// <summary>Durations on the command line: "90", "90s", "2m", "1m30s", "1h", "500ms".</summary>
public static class DurationText
{
    /// <exception cref="FormatException">The text is not a positive duration; the message shows the accepted forms.</exception>
    public static TimeSpan Parse(string text)
    {
        try
        {
            return ParseUnchecked(text);
        }
        catch (Exception e) when (e is OverflowException or ArgumentException)
        {
            // NaN, infinity, or more than TimeSpan holds (10,675,199 days).
            throw Invalid(text);
        }
    }

    /// <summary>Parses <paramref name="text"/> as <see cref="Parse"/> does; false if it is not a duration above 0 and at most <paramref name="max"/>.</summary>
    public static bool TryParse(string text, TimeSpan max, out TimeSpan duration)
    {
        try
        {
            duration = Parse(text);
        }
        catch (FormatException)
        {
            duration = TimeSpan.Zero;
            return false;
        }

        return duration <= max;
    }

    private static TimeSpan ParseUnchecked(string text)
    {
        var rest = text.Trim();
        if (rest.Length == 0)
        {
            throw Invalid(text);
        }

        if (double.TryParse(rest, NumberStyles.Float, CultureInfo.InvariantCulture, out var plainSeconds))
        {
            return Positive(TimeSpan.FromSeconds(plainSeconds), text);
        }

        var total = TimeSpan.Zero;
        while (rest.Length > 0)
        {
            var digits = 0;
            while (digits < rest.Length && (char.IsAsciiDigit(rest[digits]) || rest[digits] == '.'))
            {
                digits++;
            }

            var unit = digits;
            while (unit < rest.Length && char.IsAsciiLetter(rest[unit]))
            {
                unit++;
            }

            if (digits == 0 || unit == digits || !double.TryParse(rest[..digits], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
            {
                throw Invalid(text);
            }

            total += rest[digits..unit].ToLowerInvariant() switch
            {
                "ms" => TimeSpan.FromMilliseconds(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "h" => TimeSpan.FromHours(amount),
                _ => throw Invalid(text),
            };
            rest = rest[unit..];
        }

        return Positive(total, text);
    }

    public static string Format(TimeSpan duration) =>
        duration.TotalSeconds < 60 ? $"{duration.TotalSeconds:0.#} s" : $"{(int)duration.TotalMinutes} min {duration.Seconds} s";

    private static TimeSpan Positive(TimeSpan duration, string text) => duration > TimeSpan.Zero ? duration : throw Invalid(text);

    private static FormatException Invalid(string text) =>
        new($"'{text}' is not a positive duration; write it as 90, 90s, 2m, 1m30s, 1h or 500ms.");
}
