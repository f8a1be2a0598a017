using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;

namespace PicSharp.Serving.Http;

/// <summary>
/// Reads a JSON request body by hand so every failure names itself: over the size limit → 413 with the limit,
/// not UTF-8 → 400 with the byte offset, not JSON or not the expected shape → 400 with the parser's words.
/// </summary>
static class JsonBody
{
    public static async Task<T> ReadAsync<T>(HttpContext context, long limit, JsonSerializerOptions json) where T : class
    {
        if (context.Request.ContentLength > limit) throw TooLarge(context.Request.ContentLength.Value, limit);
        var buffer = new MemoryStream();
        try
        {
            var chunk = new byte[81920];
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > limit) throw TooLarge(null, limit);
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge) { throw TooLarge(null, limit); }
        catch (BadHttpRequestException e) { throw new HttpProblem(e.StatusCode, $"the request body could not be read: {e.Message}"); }
        catch (OperationCanceledException) when (context.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken.IsCancellationRequested == true)
        {
            // The client never finished sending: its fault (408), not a slow service (504).
            throw new HttpProblem(StatusCodes.Status408RequestTimeout, "the request body did not arrive within this service's time limit");
        }

        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (bytes.IsEmpty) throw new HttpProblem(400, "the request body is empty; send a JSON object");
        if (InvalidUtf8Offset(bytes) is int offset) throw new HttpProblem(400, $"the request body is not valid UTF-8 (bad byte at offset {offset})");
        try
        {
            return JsonSerializer.Deserialize<T>(bytes, json) ?? throw new HttpProblem(400, "the request body is JSON null; send a JSON object");
        }
        catch (JsonException e) { throw new HttpProblem(400, $"the request body is not the expected JSON: {Describe<T>(e, json)}"); }
    }

    // The parser names .NET types ("could not be converted to PicSharp.Serving.Http.MemoryEndpoints+CreateRequest",
    // even when one field has the wrong type); a client needs the JSON path and the kind of value expected there.
    static string Describe<T>(JsonException e, JsonSerializerOptions json)
    {
        if (!e.Message.Contains("could not be converted to", StringComparison.Ordinal)) return e.Message;
        string path = e.Path?.TrimStart('$').TrimStart('.') ?? "";
        if (path.Length == 0) return "the body must be a JSON object";
        var field = typeof(T).GetProperties().FirstOrDefault(p => json.PropertyNamingPolicy?.ConvertName(p.Name) == path);
        return field is null ? $"'{path}' has the wrong type" : $"'{path}' must be {Kind(field.PropertyType)}";
    }

    static string Kind(Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } inner) return Kind(inner) + " or null";
        if (type == typeof(string)) return "a string";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(int) || type == typeof(long) || type == typeof(ulong)) return "a whole number";
        if (type == typeof(double) || type == typeof(float)) return "a number";
        if (type != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(type)) return "an array";
        return "a JSON object";
    }

    static HttpProblem TooLarge(long? length, long limit) => new(413,
        (length is long n ? $"the request body is {n} bytes" : "the request body is larger than the limit") + $"; this service takes at most {limit} bytes");

    static int? InvalidUtf8Offset(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return null;
        var chars = new char[bytes.Length];
        System.Text.Unicode.Utf8.ToUtf16(bytes, chars, out int consumed, out _, replaceInvalidSequences: false);
        return consumed;
    }

    /// <summary>A required text field: present, not blank.</summary>
    public static string Required(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw new HttpProblem(400, $"'{field}' is missing or empty") : value;
}
