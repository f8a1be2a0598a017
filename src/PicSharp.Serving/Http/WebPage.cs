namespace PicSharp.Serving.Http;

/// <summary>The single-page UI served at `/` (Web/index.html, embedded in the assembly).</summary>
static class WebPage
{
    public static readonly string Html = Read();

    static string Read()
    {
        using var stream = typeof(WebPage).Assembly.GetManifestResourceStream("PicSharp.Serving.index.html")
            ?? throw new InvalidOperationException("the web page resource is missing from the assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
