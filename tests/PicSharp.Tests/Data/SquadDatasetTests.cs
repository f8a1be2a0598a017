using PicSharp.Data;

namespace PicSharp.Tests.Data;

public class SquadDatasetTests
{
    static readonly SquadExample[] Examples =
    [
        new("q1", "Alpha", "Kavo was born in Drell.", "Where was Kavo born?", [new SquadAnswer("Drell", 17)]),
        new("q2", "Alpha", "Kavo was born in Drell.", "Who was born in Drell?", [new SquadAnswer("Kavo", 0), new SquadAnswer("Kavo", 0)]),
        new("q3", "Alpha", "Second paragraph \"quoted\" ünïcode.", "What is quoted?", [new SquadAnswer("quoted", 18)]),
        new("q4", "Beta", "Tovi has 3 apples and buys 4.", "How many apples?", [new SquadAnswer("7", -1)]),
    ];

    [Fact]
    public void Save_then_load_round_trips_and_keeps_squad_nesting()
    {
        using var dir = new TempDirectory();
        string path = dir.File("set.json");
        new SquadDataset(Examples).Save(path);

        var loaded = SquadDataset.Load(path);
        Assert.Equal("1.1", loaded.Version);
        Assert.Equal(Examples.Length, loaded.Examples.Count);
        for (int i = 0; i < Examples.Length; i++)
        {
            Assert.Equal(Examples[i] with { Answers = [] }, loaded.Examples[i] with { Answers = [] });
            Assert.Equal(Examples[i].Answers, loaded.Examples[i].Answers);
        }
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        var data = json.RootElement.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        Assert.Equal(2, data[0].GetProperty("paragraphs").GetArrayLength());
        Assert.Equal(2, data[0].GetProperty("paragraphs")[0].GetProperty("qas").GetArrayLength());
        Assert.Single(Directory.GetFiles(dir.Path)); // no temp file left behind
    }

    [Fact]
    public void A_span_that_does_not_match_its_context_names_the_answer_location()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.json");
        File.WriteAllText(path, """{"version":"1.1","data":[{"title":"t","paragraphs":[{"context":"abc def","qas":[{"id":"x","question":"q?","answers":[{"text":"def","answer_start":3}]}]}]}]}""");
        var e = Assert.Throws<InvalidDataException>(() => SquadDataset.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("$.data[0].paragraphs[0].qas[0].answers[0]", e.Message);
    }

    [Theory]
    [InlineData("""{"data":[{"title":"t"}]}""", "$.data[0].paragraphs")]
    [InlineData("""{"data":[{"title":"t","paragraphs":[{"context":"c","qas":[{"id":"x","answers":[]}]}]}]}""", "$.data[0].paragraphs[0].qas[0].question")]
    [InlineData("""{"version":"1.1"}""", "$.data")]
    [InlineData("""{"data": [""", "not valid JSON")]
    public void Malformed_files_name_the_path_and_json_location(string content, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.json");
        File.WriteAllText(path, content);
        var e = Assert.Throws<InvalidDataException>(() => SquadDataset.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    const string OneQuestion = """{"version":"1.1","data":[{"title":"t","paragraphs":[{"context":"abc déf","qas":[{"id":"x","question":"q?","answers":[{"text":"déf","answer_start":4}]}]}]}]}""";

    [Fact]
    public void An_answer_start_given_as_a_string_is_refused_naming_its_location()
    {
        using var dir = new TempDirectory();
        string path = dir.File("string-start.json");
        File.WriteAllText(path, OneQuestion.Replace("\"answer_start\":4", "\"answer_start\":\"4\""));
        var e = Assert.Throws<InvalidDataException>(() => SquadDataset.Load(path));
        Assert.Contains($"{path}: $.data[0].paragraphs[0].qas[0].answers[0].answer_start is missing or not an integer", e.Message);
        Assert.Contains("the string \"4\"", e.Message);
    }

    [Fact]
    public void A_byte_order_mark_is_accepted_and_invalid_utf8_is_refused_naming_the_byte()
    {
        using var dir = new TempDirectory();
        string withBom = dir.File("bom.json");
        File.WriteAllBytes(withBom, [0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes(OneQuestion)]);
        Assert.Equal("déf", SquadDataset.Load(withBom).Examples.Single().Answers.Single().Text);

        string latin1 = dir.File("latin1.json");
        byte[] bytes = System.Text.Encoding.Latin1.GetBytes(OneQuestion); // é as the single byte 0xE9
        File.WriteAllBytes(latin1, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SquadDataset.Load(latin1));
        Assert.Contains($"{latin1}: invalid UTF-8 at byte {Array.IndexOf(bytes, (byte)0xE9)} (0xE9)", e.Message);
    }

    [Fact]
    public void Qa_prompt_matches_the_shared_contract()
    {
        Assert.Equal("Kavo lives in Drell.\n\nQuestion: Where?\nAnswer:", QaPrompt.Prompt("Kavo lives in Drell.", "Where?"));
        Assert.Equal("Question: Where?\nAnswer:", QaPrompt.Prompt(null, "Where?"));
        Assert.Equal(" Drell", QaPrompt.Target("Drell"));
    }
}
