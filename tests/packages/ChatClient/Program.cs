using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using PicSharp;
using PicSharp.Serving;
using PicSharp.Serving.Chat;
using PicSharp.Serving.Store;

// dotnet run -- FILE "QUESTION": the document as the system message, the question as the user message.
string document = File.ReadAllText(args[0]), question = args[1];

var bundled = BundledModels.Locate();
using var engine = PicEngine.Open(bundled.Model, bundled.Compressor);
using var store = new SqliteMemoryStore("memories.db");
using var queue = new ModelQueue(capacity: 16, NullLogger.Instance);
IChatClient chat = new PicSharpChatClient(new MemoryService(engine, store, queue, NullLogger.Instance));

// Messages before the last user message are compressed once and cached in the store by their hash.
var reply = await chat.GetResponseAsync([new(ChatRole.System, document), new(ChatRole.User, question)]);
Console.WriteLine(reply.Text);
