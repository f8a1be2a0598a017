using System.CommandLine;
using PicSharp.Cli;
using PicSharp.Lab;

OpenMpWaitPolicy.PreferPassive(); // before anything loads torch's native library
var root = new RootCommand("pic-lab: research tools beside `pic` (sweep reports, the store's kill -9 drill); docs/lab.md");
foreach (Command command in LabCommands.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
