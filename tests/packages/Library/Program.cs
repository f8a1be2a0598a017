using PicSharp;
using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Evaluation;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using static TorchSharp.torch;

// dotnet run -- FILE "QUESTION": compress a text file once, keep its memory in a file, answer a question from it.
string context = File.ReadAllText(args[0]), question = args[1];
using var inference = no_grad(); // answering, not training: no gradients

var bundled = BundledModels.Locate();                        // PICSHARP_MODELS, models/ beside the program, ./models
using var model = ModelFolder.Load(bundled.Model);            // any HF Llama/Mistral/Qwen2/Qwen3 folder, in its dtype
var tokenizer = TextTokenizer.Load(Path.Combine(bundled.Model, ModelFolder.TokenizerFile));
using var compressor = CompressorFolder.Load(model, bundled.Compressor); // trained: 16x, chunks of 64 tokens, `pic`
var decoder = new MemoryDecoder(compressor);

using (var memory = compressor.Compress([tokenizer.Encode(context)]))     // one vector per 16 tokens
    MemoryFile.Save("context.mem", memory, MemoryFileInfo.Of(compressor, ModelFolder.Fingerprint(model)));

var (loaded, _) = MemoryFile.Load("context.mem", CompressorFolder.Fingerprint(compressor)); // refuses foreign memories
using (loaded)
{
    // The QA format the compressor was trained on; greedy, stops at end of line or EOS, at most 32 tokens.
    var answer = decoder.Generate(loaded, TaskToken.Answer, tokenizer.Encode(QaPrompt.Prompt(null, question)),
        QaGeneration.Options(tokenizer, model.Config), ids => QaGeneration.Decode(tokenizer, ids));
    Console.WriteLine(QaGeneration.AnswerText(tokenizer, answer.Tokens)); // the answer line, trimmed
}
