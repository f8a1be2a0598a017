using PicSharp;
using PicSharp.Answering;
using PicSharp.Compression;
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
var answerer = new TorchAnswerer(model, tokenizer, compressor); // the one answering path `pic ask` and `pic serve` use

using (var memory = compressor.Compress([tokenizer.EncodeText(context)])) // one vector per 16 tokens
    MemoryFile.Save("context.mem", memory, MemoryFileInfo.Of(compressor, ModelFolder.Fingerprint(model)));

var (loaded, _) = MemoryFile.Load("context.mem", CompressorFolder.Fingerprint(compressor)); // refuses foreign memories
using (loaded)
{
    // The QA format the compressor was trained on; greedy, stops at end of line or EOS, at most 32 tokens.
    var request = answerer.FromMemory(loaded, question, QaGeneration.DefaultMaxNewTokens);
    Console.WriteLine(answerer.Answer([request])[0].Text); // the answer line, trimmed
}
