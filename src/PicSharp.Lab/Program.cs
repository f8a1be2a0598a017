using PicSharp.Cli;
using PicSharp.Lab;

return await CommandCatalog.InvokeAsync("pic-lab: research tools beside `pic` (sweep reports, the store's kill -9 drill); docs/lab.md",
    LabCommands.All(), args);
