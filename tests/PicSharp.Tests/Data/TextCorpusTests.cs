using PicSharp.Data;

namespace PicSharp.Tests.Data;

public class TextCorpusTests
{
    [Fact]
    public void Reads_a_folder_of_txt_files_recursively_in_order()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("sub"));
        File.WriteAllText(dir.File("b.txt"), "second");
        File.WriteAllText(dir.File("a.txt"), "first");
        File.WriteAllText(Path.Combine(dir.Path, "sub", "c.txt"), "third ünï");
        File.WriteAllText(dir.File("notes.md"), "ignored");
        Assert.Equal(["first", "second", "third ünï"], TextCorpus.Read(dir.Path));
    }

    [Fact]
    public void Reads_the_text_field_of_jsonl()
    {
        using var dir = new TempDirectory();
        string path = dir.File("docs.jsonl");
        File.WriteAllText(path, "{\"text\": \"one\", \"id\": 1}\n\n{\"text\": \"two\\nlines\"}\n");
        Assert.Equal(["one", "two\nlines"], TextCorpus.Read(path));
    }

    [Theory]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": \"broken\"\n", ":2: bad JSON")]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n", ":3: expected a JSON object with a string \"text\" field")]
    public void Bad_jsonl_lines_are_named_by_line_number(string content, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.File("docs.jsonl");
        File.WriteAllText(path, content);
        var e = Assert.Throws<InvalidDataException>(() => TextCorpus.Read(path).ToList());
        Assert.Contains(path + expected, e.Message);
    }

    [Fact]
    public void Invalid_utf8_names_the_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("good.txt"), "fine");
        File.WriteAllBytes(dir.File("latin1.txt"), [0x63, 0x61, 0x66, 0xE9, 0x20, 0x21]);
        var e = Assert.Throws<InvalidDataException>(() => TextCorpus.Read(dir.Path).ToList());
        Assert.Contains("latin1.txt", e.Message);
        Assert.Contains("UTF-8", e.Message);
    }

    [Fact]
    public void A_missing_path_is_a_clear_error()
    {
        var e = Assert.Throws<FileNotFoundException>(() => TextCorpus.Read("/nonexistent/picsharp/corpus").ToList());
        Assert.Contains("/nonexistent/picsharp/corpus", e.Message);
    }
}
