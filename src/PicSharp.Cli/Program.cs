using System.CommandLine;
using PicSharp.Cli;

OpenMpWaitPolicy.PreferPassive(); // before anything loads torch's native library
var root = new RootCommand("pic: soft-prompt context compression (PIC) on Llama-family models");
foreach (Command command in CommandCatalog.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
